"""Does the row-(g) GAN actually learn a condition -> image mapping? Judged by an independent classifier.

STAND-IN CONDITION: the 'sound' here is a noisy one-hot of the digit, not a real sound feature (those
come from gan/ml/features.py). This isolates the GAN stack: if it cannot learn from a clean
condition, no sound feature will help. Images are scikit-learn's handwritten digits upscaled to 32x32.
"""
import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split

from gan.ml.generate import generate_images
from gan.ml.paired_arrays import PairedArrays
from gan.ml.trainer import Trainer
from gan.ml.variants import ModelConfig, TrainConfig

STAND_IN_DIM = 16
STAND_IN_NOISE = 0.3


def digits_32x32():
    digits = load_digits()
    small = torch.from_numpy(digits.images).float()[:, None] / 16.0
    big = torch.nn.functional.interpolate(small, size=32, mode="bilinear", align_corners=False)
    return (big.clamp(0, 1) * 255).round().to(torch.uint8).numpy(), digits.target.astype(np.int64)


def stand_in_condition(labels, rng):
    vectors = rng.normal(0, STAND_IN_NOISE, (len(labels), STAND_IN_DIM)).astype(np.float32)
    vectors[np.arange(len(labels)), labels] += 1.0
    return vectors


@pytest.fixture
def one_thread():
    # Two cores shared with other jobs: one intra-op thread is faster than two fighting ones.
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.mark.slow
def test_row_g_generates_the_conditioning_digit(tmp_path, one_thread):
    images, labels = digits_32x32()
    train_rows, held_out = train_test_split(np.arange(len(labels)), test_size=0.3, stratify=labels, random_state=0)
    rng = np.random.default_rng(0)
    data = PairedArrays(stand_in_condition(labels[train_rows], rng), images[train_rows], labels[train_rows],
                        [str(d) for d in range(10)])
    model = ModelConfig(sound_dim=STAND_IN_DIM, num_classes=10, image_size=32, channels=1,
                        g_width=16, d_width=16, embed_dim=64)
    # About one minute on one free CPU core; hflip off because mirrored digits are other glyphs.
    cfg = TrainConfig(iterations=300, batch_size=32, hflip=False, sample_every=0, checkpoint_every=10**6)
    trainer = Trainer(model, "g", cfg, data, tmp_path, device="cpu")
    summary = trainer.train()
    assert summary["status"] == "completed"

    # The judge never saw the GAN's training images: it is fitted on the held-out real digits only.
    judge = LogisticRegression(max_iter=2000).fit(images[held_out].reshape(len(held_out), -1) / 255.0,
                                                  labels[held_out])
    real_accuracy = judge.score(images[train_rows].reshape(len(train_rows), -1) / 255.0, labels[train_rows])
    assert real_accuracy > 0.9      # the judge itself is competent

    wanted = np.repeat(np.arange(10), 30)
    generated = generate_images(trainer.G, stand_in_condition(wanted, rng), seeds=list(range(len(wanted))),
                                device="cpu")
    predicted = judge.predict(generated.reshape(len(generated), -1) / 255.0)
    accuracy = float((predicted == wanted).mean())
    per_digit = [float((predicted[wanted == d] == d).mean()) for d in range(10)]
    print(f"\nrow (g), stand-in condition, 300 iterations ({summary['elapsed_s']:.0f} s): "
          f"judge accuracy on generated digits {accuracy:.1%} (chance 10%), per digit {per_digit}, "
          f"judge on real training digits {real_accuracy:.1%}")
    assert accuracy > 0.5
