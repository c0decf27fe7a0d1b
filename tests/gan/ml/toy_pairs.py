"""A tiny synthetic paired dataset shared by the GAN-stack tests (not a test module)."""
import numpy as np

from gan.ml.paired_arrays import PairedArrays
from gan.ml.variants import ModelConfig, TrainConfig

CLASS_NAMES = ["circle", "bar", "cross"]


def toy_pairs(n: int = 48, size: int = 32, channels: int = 1, seed: int = 0, sound_dim: int = 8) -> PairedArrays:
    """n pairs of 3 classes: a noisy one-hot 'sound' and an image of a class-specific shape."""
    rng = np.random.default_rng(seed)
    labels = (np.arange(n) % 3).astype(np.int64)
    features = rng.normal(0, 0.1, (n, sound_dim)).astype(np.float32)
    features[np.arange(n), labels] += 1.0
    yy, xx = np.mgrid[:size, :size] / size - 0.5
    shapes = [(xx ** 2 + yy ** 2 < 0.1), (abs(xx) < 0.1), (abs(xx) < 0.08) | (abs(yy) < 0.08)]
    images = np.stack([shapes[c] * 230 + rng.integers(0, 20, (size, size)) for c in labels]).astype(np.uint8)
    images = np.repeat(images[:, None], channels, axis=1)
    return PairedArrays(features, images, labels, CLASS_NAMES)


def tiny_model(size: int = 32, channels: int = 1, sound_dim: int = 8, z_dim: int = 10) -> ModelConfig:
    return ModelConfig(sound_dim=sound_dim, num_classes=3, z_dim=z_dim, image_size=size, channels=channels,
                       g_width=8, d_width=8, embed_dim=16)


def tiny_train(iterations: int, **overrides) -> TrainConfig:
    values = dict(iterations=iterations, batch_size=8, g_steps=2, checkpoint_every=1000, sample_every=0,
                  samples_per_class=2, log_every=2, seed=3)
    values.update(overrides)
    return TrainConfig(**values)
