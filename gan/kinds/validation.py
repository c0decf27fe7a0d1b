"""Model selection for a training run: class consistency of images made from validation sounds.

The validation sounds come from the run's `validation.split` (by default 'val': the training sources,
melodies or speakers never trained on; never a test split). Each sound gets its own fixed z (seed 0,
gan.ml.generate.sound_seed), so successive validations differ only by the generator's weights.
"""
from __future__ import annotations

from typing import Callable

import numpy as np
import torch

from jobs.context import JobContext

from ..ml import metrics as scores
from ..ml.features import FeatureSpec
from ..ml.generate import generate_images, sound_seed
from ..ml.paired_arrays import class_index
from ..models import TrainingRun
from ..selectors.datasets import usable_pairs
from ..services.features import features_for_pairs
from .evaluate import load_classifier, predict_classes
from .generate import distinct_sounds


def build_validator(run: TrainingRun, ctx: JobContext | None = None) -> Callable[[torch.nn.Module], float]:
    """A function G -> class consistency on the run's validation sounds (higher is better)."""
    settings_ = run.validation
    dataset = run.dataset
    pairs = distinct_sounds(usable_pairs(dataset, settings_["split"]), settings_.get("max_sounds", 0))
    spec = FeatureSpec.from_dict(run.feature_spec)
    features = features_for_pairs(pairs, spec)
    index = class_index(dataset.class_names)
    labels = np.array([index[p.label] for p in pairs], dtype=np.int64)
    z_seeds = [sound_seed(p.sound.name, 0) for p in pairs]
    classifier, _ = load_classifier(settings_["classifier"], dataset, ctx.log if ctx else print)
    if ctx:
        ctx.log(f"validation: {len(pairs)} {settings_['split']} sounds, classifier {settings_['classifier']}"
                + (" (closed set)" if settings_.get("closed_set") and settings_["classifier"] != "domain" else ""))

    def validate(generator: torch.nn.Module) -> float:
        device = next(generator.parameters()).device
        images = generate_images(generator, features, seeds=z_seeds, device=device)   # NHWC uint8
        probs = classifier.predict_proba(images, device=device)
        predicted = predict_classes(classifier, probs, dataset, settings_["classifier"],
                                    settings_.get("class_map", {}), settings_.get("closed_set", False))
        return scores.class_consistency(predicted, labels, dataset.class_names).overall

    return validate
