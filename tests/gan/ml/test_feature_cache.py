"""The feature cache serves repeat lookups without decoding, never serves a stale vector, writes atomically."""
import os

import numpy as np
import pytest
import soundfile
import torch

import gan.ml.feature_cache as feature_cache
from gan.ml.audio import AudioError
from gan.ml.feature_cache import FeatureCache, extract_many
from gan.ml.features import FeatureSpec, feature_dim
from gan.ml.soundnet import SoundNet8

RATE = 16000
SPEC = FeatureSpec(kind="mfcc", sample_rate=RATE)


def write_tone(path, freq, seconds=0.4, amplitude=0.4):
    t = np.arange(int(RATE * seconds)) / RATE
    soundfile.write(path, (amplitude * np.sin(2 * np.pi * freq * t)).astype(np.float32), RATE)
    return path


@pytest.fixture
def decode_counter(monkeypatch):
    """Counts real decodes done by the cache module."""
    calls = []
    original = feature_cache.load_audio

    def counting(path, *args, **kwargs):
        calls.append(str(path))
        return original(path, *args, **kwargs)

    monkeypatch.setattr(feature_cache, "load_audio", counting)
    return calls


@pytest.fixture
def clips(tmp_path):
    folder = tmp_path / "sounds"
    folder.mkdir()
    return [(f"clip/{i}", write_tone(folder / f"{i}.wav", 200 + 150 * i)) for i in range(5)]


def test_second_call_is_served_without_decoding(tmp_path, clips, decode_counter):
    cache = FeatureCache(tmp_path / "cache")
    clip_id, path = clips[0]
    first = cache.get_or_compute(clip_id, path, SPEC)
    second = cache.get_or_compute(clip_id, path, SPEC)
    assert len(decode_counter) == 1
    assert (cache.misses, cache.hits) == (1, 1)
    np.testing.assert_array_equal(first, second)
    assert first.shape == (feature_dim(SPEC),) and second.dtype == np.float32


def test_extract_many_in_order_with_progress_and_no_redecode(tmp_path, clips, decode_counter):
    cache = FeatureCache(tmp_path / "cache")
    seen = []
    matrix = extract_many(clips, SPEC, cache, progress=lambda done, total: seen.append((done, total)))
    assert matrix.shape == (5, feature_dim(SPEC)) and matrix.dtype == np.float32
    assert seen == [(i, 5) for i in range(6)]
    assert len(decode_counter) == 5
    again = extract_many(list(reversed(clips)), SPEC, FeatureCache(tmp_path / "cache"))
    assert len(decode_counter) == 5  # a new cache object on the same folder decodes nothing
    np.testing.assert_array_equal(again, matrix[::-1])
    # each row is that clip's own vector: the tones differ, so the rows do
    assert len({row.tobytes() for row in matrix}) == 5


def test_edited_file_is_recomputed_not_served_stale(tmp_path, clips, decode_counter):
    cache = FeatureCache(tmp_path / "cache")
    clip_id, path = clips[0]
    before = cache.get_or_compute(clip_id, path, SPEC)
    write_tone(path, 3000, seconds=0.6)  # new content, new size
    stat = os.stat(path)
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    after = cache.get_or_compute(clip_id, path, SPEC)
    assert len(decode_counter) == 2
    assert not np.allclose(before, after)


def test_each_spec_and_volume_has_its_own_entry(tmp_path, clips, decode_counter):
    cache = FeatureCache(tmp_path / "cache")
    clip_id, path = clips[1]
    plain = cache.get_or_compute(clip_id, path, SPEC)
    loud = cache.get_or_compute(clip_id, path, SPEC.with_volume(2.0, clip=False))
    assert not np.allclose(plain, loud)
    assert cache.entry_path(clip_id, SPEC).parent.name == SPEC.key()
    assert cache.entry_path(clip_id, SPEC) != cache.entry_path(clip_id, SPEC.with_volume(2.0, clip=False))
    cache.get_or_compute(clip_id, path, SPEC.with_volume(2.0, clip=False))
    assert len(decode_counter) == 2


def test_corrupt_entry_is_rewritten(tmp_path, clips, decode_counter):
    cache = FeatureCache(tmp_path / "cache")
    clip_id, path = clips[2]
    good = cache.get_or_compute(clip_id, path, SPEC)
    cache.entry_path(clip_id, SPEC).write_bytes(b"torn write")
    assert cache.get(clip_id, path, SPEC) is None
    np.testing.assert_array_equal(cache.get_or_compute(clip_id, path, SPEC), good)
    np.testing.assert_array_equal(cache.get(clip_id, path, SPEC), good)


def test_writes_leave_no_temp_files_and_ids_with_slashes_stay_inside(tmp_path, clips):
    cache = FeatureCache(tmp_path / "cache")
    odd_id = "../../etc/passwd"
    cache.get_or_compute(odd_id, clips[3][1], SPEC)
    entry = cache.entry_path(odd_id, SPEC)
    assert entry.is_file() and (tmp_path / "cache") in entry.parents
    assert not list((tmp_path / "cache").rglob("*.part"))


def test_bad_audio_raises_and_caches_nothing(tmp_path, clips):
    cache = FeatureCache(tmp_path / "cache")
    broken = tmp_path / "broken.wav"
    broken.write_text("not audio")
    with pytest.raises(AudioError, match="broken.wav"):
        extract_many(clips[:2] + [("broken", broken)], SPEC, cache)
    assert not cache.entry_path("broken", SPEC).exists()
    assert cache.get(*clips[0], SPEC) is not None  # the clips before it were kept
    with pytest.raises(AudioError, match="does not exist"):
        cache.get_or_compute("gone", tmp_path / "gone.wav", SPEC)


def test_soundnet_kind_with_given_model(tmp_path, clips):
    torch.manual_seed(0)
    model = SoundNet8().eval()
    spec = FeatureSpec(kind="soundnet", pooling="segments", n_segments=2)
    matrix = extract_many(clips[:2], spec, FeatureCache(tmp_path / "cache"), soundnet=model)
    assert matrix.shape == (2, 512)


def test_without_a_cache_it_still_extracts(clips, decode_counter):
    matrix = extract_many(clips[:2], SPEC, None)
    assert matrix.shape == (2, feature_dim(SPEC)) and len(decode_counter) == 2
