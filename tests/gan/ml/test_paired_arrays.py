import numpy as np
import pytest

from gan.ml.paired_arrays import ClassBalancedSampler, DatasetError, PairedArrays, fixed_sample_indices


def _arrays(labels, n_classes=None):
    labels = np.asarray(labels, dtype=np.int64)
    n = len(labels)
    names = [f"c{i}" for i in range(n_classes or labels.max() + 1)]
    return PairedArrays(np.zeros((n, 4), np.float32), np.zeros((n, 3, 8, 8), np.uint8), labels, names)


def test_valid_arrays_and_mmap_features(tmp_path):
    np.save(tmp_path / "f.npy", np.ones((4, 4), np.float32))
    features = np.load(tmp_path / "f.npy", mmap_mode="r")
    data = PairedArrays(features, np.zeros((4, 1, 32, 32), np.uint8), np.array([0, 1, 0, 1]), ["a", "b"])
    assert len(data) == 4 and list(data.classes_present) == [0, 1]


def test_one_class_dataset_is_refused_by_name():
    with pytest.raises(DatasetError, match=r"only one class \('c0'\).*at least 2 classes"):
        _arrays([0, 0, 0], n_classes=3)


@pytest.mark.parametrize("change, message", [
    (dict(features=np.zeros((3, 4), np.float64)), "features must be a \\(N, D\\) float32"),
    (dict(images=np.zeros((3, 3, 8, 8), np.float32)), "images must be a \\(N, C, H, H\\) uint8"),
    (dict(images=np.zeros((3, 2, 8, 8), np.uint8)), "C = 1 or 3"),
    (dict(labels=np.array([0, 1, 5])), "labels must lie in \\[0, 2\\)"),
    (dict(labels=np.array([0, 1])), "disagree on N: 3, 3, 2"),
    (dict(features=np.full((3, 4), np.nan, np.float32)), "NaN or infinite"),
    (dict(sound_ids=[1, 2]), "sound_ids has 2 entries for 3 pairs"),
])
def test_bad_arrays_get_clear_errors(change, message):
    values = dict(features=np.zeros((3, 4), np.float32), images=np.zeros((3, 3, 8, 8), np.uint8),
                  labels=np.array([0, 1, 1]), class_names=["a", "b"])
    values.update(change)
    with pytest.raises(DatasetError, match=message):
        PairedArrays(**values)


def test_sampler_balances_classes_despite_imbalance():
    labels = np.array([0] * 900 + [1] * 90 + [2] * 10)   # 90:9:1 like the paper's skewed Table 1
    sampler = ClassBalancedSampler(labels, seed=0)
    drawn = labels[np.concatenate([sampler.sample(32) for _ in range(300)])]
    shares = np.bincount(drawn, minlength=3) / len(drawn)
    assert shares == pytest.approx([1 / 3] * 3, abs=0.02)
    rare_rows = np.concatenate([sampler.sample(64) for _ in range(50)])
    assert set(rare_rows[labels[rare_rows] == 2]) == set(range(990, 1000))   # every rare pair gets used


def test_sampler_only_picks_present_classes():
    labels = np.array([0, 0, 2, 2, 2])       # class 1 has no pairs
    sampler = ClassBalancedSampler(labels, seed=1)
    assert set(labels[sampler.sample(200)]) == {0, 2}


def test_mismatched_sounds_are_always_of_another_class():
    labels = np.repeat(np.arange(4), 25)
    sampler = ClassBalancedSampler(labels, seed=2)
    batch = sampler.sample(500)
    wrong = sampler.mismatched(labels[batch])
    assert np.all(labels[wrong] != labels[batch])
    # uniform over the three other classes: each gets about a third of a class's ~125 draws
    for c in range(4):
        counts = np.bincount(labels[wrong][labels[batch] == c], minlength=4)
        shares = np.delete(counts, c) / counts.sum()
        assert counts[c] == 0 and shares == pytest.approx([1 / 3] * 3, abs=0.12)


def test_sampler_state_restores_the_stream():
    labels = np.repeat(np.arange(3), 10)
    a = ClassBalancedSampler(labels, seed=5)
    a.sample(8)
    state = a.state_dict()
    expected = [a.sample(8), a.mismatched(labels[:8]), a.coin(8)]
    b = ClassBalancedSampler(labels, seed=99)
    b.load_state_dict(state)
    got = [b.sample(8), b.mismatched(labels[:8]), b.coin(8)]
    assert all(np.array_equal(x, y) for x, y in zip(expected, got))


def test_fixed_sample_indices_cover_each_class():
    labels = np.array([0, 1, 1, 1, 2, 2, 0, 0, 0])
    rows = fixed_sample_indices(labels, per_class=2, seed=0)
    assert sorted(np.bincount(labels[rows])) == [2, 2, 2]
    assert np.array_equal(rows, fixed_sample_indices(labels, per_class=2, seed=0))


def test_decode_images_resizes_converts_and_names_bad_files(tmp_path):
    from PIL import Image

    from gan.ml.paired_arrays import decode_images

    rgb = np.zeros((40, 40, 3), np.uint8)
    rgb[..., 0] = 255
    Image.fromarray(rgb).save(tmp_path / "red.png")
    Image.fromarray(np.full((32, 32), 77, np.uint8)).save(tmp_path / "gray.png")
    out = decode_images([str(tmp_path / "red.png"), str(tmp_path / "gray.png")], size=32, channels=3)
    assert out.shape == (2, 3, 32, 32) and out.dtype == np.uint8
    assert out[0, :, 5, 5].tolist() == [255, 0, 0] and out[1, :, 5, 5].tolist() == [77, 77, 77]
    gray = decode_images([str(tmp_path / "gray.png")], size=32, channels=1)
    assert gray.shape == (1, 1, 32, 32) and gray[0, 0, 0, 0] == 77
    (tmp_path / "broken.png").write_bytes(b"\x89PNG garbage")
    with pytest.raises(DatasetError, match="cannot decode image .*broken.png"):
        decode_images([str(tmp_path / "broken.png")], size=32, channels=3)


def test_class_index_is_the_position_in_the_class_list():
    from gan.ml.paired_arrays import class_index

    assert class_index(["dog", "cat", "bird"]) == {"dog": 0, "cat": 1, "bird": 2}
    assert class_index([]) == {}
