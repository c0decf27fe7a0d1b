"""A tiny but real world for the studies tests: a dataset with photos and sounds, two trained
variants with checkpoints, and images generated from the test sounds (real PNG and WAV files).

Names are chosen to be unmistakable so the blinding tests can search every rater-visible byte
for them: classes 'zebrafinch' and 'tromboneclass', runs 'secretrun-alpha' / 'secretrun-beta'.
"""
import io
import uuid

import numpy as np
import pytest
import soundfile
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from PIL import Image

from gan.models import Checkpoint, Dataset, GeneratedImage, Pair, Split, TrainingRun

CLASSES = ("tromboneclass", "zebrafinch")
RUN_NAMES = ("secretrun-alpha", "secretrun-beta")
VARIANTS = ("e", "g")
SECRET_WORDS = (*CLASSES, *RUN_NAMES, "secret-ckpt", "generated", "checkpoint", "variant")


def png_bytes(seed: int, size: int = 8) -> bytes:
    pixels = np.random.default_rng(seed).integers(0, 256, (size, size, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


def wav_bytes(seconds: float = 0.2, rate: int = 8000, freq: float = 440.0) -> bytes:
    t = np.arange(int(seconds * rate)) / rate
    buffer = io.BytesIO()
    soundfile.write(buffer, (0.3 * np.sin(2 * np.pi * freq * t)).astype(np.float32), rate, format="WAV")
    return buffer.getvalue()


def save(path: str, data: bytes) -> str:
    return default_storage.save(path, ContentFile(data))


def make_world(sounds_per_class: int = 2, sound_seconds: float = 0.2, n_runs: int = 2) -> dict:
    dataset = Dataset.objects.create(name=f"testset-{uuid.uuid4().hex[:6]}", source="manifest", root="data",
                                     class_names=list(CLASSES))
    pairs = []
    for c, label in enumerate(CLASSES):
        for k in range(sounds_per_class + 1):
            split = Split.TEST if k < sounds_per_class else Split.TRAIN
            pairs.append(Pair.objects.create(
                dataset=dataset, label=label, split=split,
                sound=save(f"data/{label}/{label}_{k}.wav", wav_bytes(sound_seconds, freq=300 + 100 * c + 10 * k)),
                image=save(f"data/{label}/{label}_{k}.png", png_bytes(100 * c + k))))
    checkpoints = []
    for r in range(n_runs):
        run = TrainingRun.objects.create(name=RUN_NAMES[r], dataset=dataset, variant=VARIANTS[r],
                                         feature_spec={"kind": "soundnet"})
        checkpoints.append(Checkpoint.objects.create(run=run, step=100, path=f"runs/secret-ckpt-{RUN_NAMES[r]}.pt",
                                                     is_final=True))
    images = []
    for r, checkpoint in enumerate(checkpoints):
        for pair in pairs:
            if pair.split != Split.TEST:
                continue
            name = f"generated/{RUN_NAMES[r]}/{pair.label}_{pair.pk}.png"
            images.append(GeneratedImage.objects.create(
                checkpoint=checkpoint, source_pair=pair, sound=pair.sound.name, sound_label=pair.label,
                image=save(name, png_bytes(1000 + 10 * pair.pk + r)),
                provenance={"variant": VARIANTS[r], "checkpoint": checkpoint.path}))
    return {"dataset": dataset, "pairs": pairs, "checkpoints": checkpoints, "images": images}


@pytest.fixture
def world(media_root):
    return make_world()


@pytest.fixture(autouse=True)
def fresh_rate_limits(settings):
    """Every test counts its requests from zero: the limits' counters live in a shared cache
    (a file cache under VAR_DIR that outlives the run, or Redis), so each test gets its own prefix."""
    settings.RATELIMIT_CACHE_PREFIX = f"rl-test-{uuid.uuid4().hex}:"
    # Tests change a study's state and expect the very next request to see it.
    settings.STUDIES_RATER_CACHE_SECONDS = 0
    # Most tests seat many raters from one address who have not answered yet; the hold caps are
    # tested on their own (test_crowd_attacks.py), with these set.
    settings.STUDIES_MAX_RATERS_PER_ADDRESS = 0
    settings.STUDIES_NEW_RATERS_SHARE = 0
