"""A dataset's classes and images for a model (gan/services/datasets.py): the class list follows
the kept pairs (or, before cleaning, the pending ones), never a discarded or unmapped label, and
keeps the order it had; images decode to (N, C, H, W) uint8 at the model's size."""
import numpy as np
import pytest
from PIL import Image

from gan.ml.cleaning import UNMAPPED
from gan.models import Dataset, Pair, PairStatus
from gan.services.datasets import DatasetImportError, load_images, refresh_class_names, stable_class_names

pytestmark = pytest.mark.django_db


def _pair(dataset, label, status, image=""):
    return Pair.objects.create(dataset=dataset, sound=f"{label}-{status}.wav", image=image or f"{label}-{status}.png",
                               label=label, status=status)


def test_the_classes_are_the_kept_labels_in_their_old_order_else_the_pending_ones():
    dataset = Dataset.objects.create(name="classes", source="manifest", root="d", class_names=["violin", "drum"])
    for label in ("piano", "drum"):
        _pair(dataset, label, PairStatus.PENDING)
    _pair(dataset, "harp", PairStatus.DISCARDED)
    assert refresh_class_names(dataset) == ["drum", "piano"]  # nothing kept yet: the pending labels
    for label in ("violin", "cello", "drum", UNMAPPED):
        _pair(dataset, label, PairStatus.KEPT)
    assert refresh_class_names(dataset) == ["drum", "cello", "violin"]  # drum keeps its place, new ones sorted
    dataset.refresh_from_db()
    assert dataset.class_names == ["violin", "drum"]  # set, not saved: the caller saves


def test_class_order_is_kept_and_new_classes_follow():
    assert stable_class_names(["violin", "dog"], {"dog", "violin", "cat"}) == ["violin", "dog", "cat"]
    assert stable_class_names(["violin", "dog"], {"dog"}) == ["dog"]
    assert stable_class_names([], {"b", "a"}) == ["a", "b"]


def test_images_decode_at_the_models_size_and_channels(media_root):
    dataset = Dataset.objects.create(name="pixels", source="manifest", root="d")
    (media_root / "d").mkdir(parents=True)
    Image.new("RGB", (40, 20), (200, 10, 10)).save(media_root / "d" / "red.png")
    Image.new("RGB", (16, 16), (10, 10, 200)).save(media_root / "d" / "blue.png")
    pairs = [_pair(dataset, "red", PairStatus.KEPT, "d/red.png"), _pair(dataset, "blue", PairStatus.KEPT, "d/blue.png")]
    colour = load_images(pairs, image_size=8, channels=3)
    assert colour.shape == (2, 3, 8, 8) and colour.dtype == np.uint8
    assert np.abs(colour[0, :, 4, 4].astype(int) - (200, 10, 10)).max() <= 1  # resized (bicubic) from 40 x 20
    assert tuple(colour[1, :, 4, 4]) == (10, 10, 200)
    grey = load_images(pairs, image_size=8, channels=1)
    assert grey.shape == (2, 1, 8, 8) and grey[0, 0, 4, 4] > grey[1, 0, 4, 4]  # red is lighter than blue
    missing = _pair(dataset, "gone", PairStatus.KEPT, "d/gone.png")
    with pytest.raises(DatasetImportError, match=f"image of pair #{missing.pk}"):
        load_images(pairs + [missing], image_size=8, channels=3)
