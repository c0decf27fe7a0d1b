"""Labelled choices for the admin's forms. The values come from the lists the code validates
against (feature kinds, poolings, classifiers); only the words shown to a researcher live here."""
from ..ml.features import KINDS as FEATURE_KINDS
from ..ml.features import POOLINGS
from ..services.scoring import CLASSIFIERS

FEATURE_LABELS = {"soundnet": "SoundNet layer 18", "spectrogram": "Spectrogram", "fbank": "Fbank (log-mel)",
                  "mfcc": "MFCC (13 + deltas)"}
POOLING_LABELS = {"mean": "mean over time (the paper)", "segments": "mean of 4 time segments"}
CLASSIFIER_LABELS = {"domain": "domain classifier (the dataset's own images)",
                     "efficientnet-lite0": "EfficientNet-Lite0 (ImageNet)",
                     "inception-v3": "Inception-v3 (local weights file)"}


def labelled(values, labels: dict) -> list[tuple[str, str]]:
    """(value, label) pairs in the code's order; a value added to the code shows up as itself."""
    return [(value, labels.get(value, value)) for value in values]


FEATURE_CHOICES = labelled(FEATURE_KINDS, FEATURE_LABELS)
POOLING_CHOICES = labelled(POOLINGS, POOLING_LABELS)
CLASSIFIER_CHOICES = labelled(CLASSIFIERS, CLASSIFIER_LABELS)
