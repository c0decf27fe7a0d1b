"""Video decoding on videos made here with ffmpeg from real Tux Paint photos and recordings, and every
kind of bad input the import must name clearly."""
import re
import time

import numpy as np
import pytest
import soundfile

from gan.ml.media import MediaError, extract, frame_offsets, split_segments, write_lossless
from tests.gan.media_fixtures import make_bad_inputs, make_video, needs_media_tools


@pytest.fixture(scope="module")
def fox_video(tmp_path_factory):
    return make_video(tmp_path_factory.mktemp("media") / "fox.mp4", "animals/mammals/dogs/fox",
                      "animals/mammals/dogs/fox", seconds=3.0, size=(320, 240))


@pytest.fixture(scope="module")
def bad_inputs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("bad")
    return folder, make_bad_inputs(folder)


@needs_media_tools
def test_frames_at_offsets_resized_and_sound_at_native_rate(fox_video):
    media = extract(fox_video)
    assert len(media.frames) == 4
    assert all(frame.shape == (64, 64, 3) and frame.dtype == np.uint8 for frame in media.frames)
    # the centres of four equal slices of 3 s (10 fps: the first frame at or after each offset)
    assert media.frame_times == pytest.approx([0.4, 1.2, 1.9, 2.7], abs=0.11)
    assert media.sample_rate == 44100  # the recording's own rate, not resampled
    assert media.audio.dtype == np.float32 and media.audio.ndim == 1
    assert media.audio_seconds == pytest.approx(3.0, abs=0.1)
    assert np.abs(media.audio).max() > 0.01
    assert (media.width, media.height) == (320, 240)
    # the fox photo is in the middle of a white frame: centre pixels are not white, corners are
    frame = media.frames[0].astype(int)
    assert frame[28:36, 28:36].mean() < 200 and frame[:, :2].mean() > 240


@needs_media_tools
def test_frame_count_and_size_are_configurable(fox_video):
    media = extract(fox_video, n_frames=2, frame_size=32)
    assert [frame.shape for frame in media.frames] == [(32, 32, 3)] * 2
    assert media.frame_times[0] < media.frame_times[1]
    with pytest.raises(ValueError, match="n_frames"):
        extract(fox_video, n_frames=0)


@needs_media_tools
@pytest.mark.parametrize("name, phrase", [
    ("corrupt.mp4", "corrupt or truncated"),
    ("no_audio.mp4", "has no audio track"),
    ("audio_only.mp4", "has no video stream"),
    ("zero_length.mp4", "empty (0 bytes)"),
    ("notes.mp4", "is a text file, not a video"),
    ("enormous.mkv", "9000x9000 is above the limit"),
])
def test_bad_inputs_raise_media_error_naming_file_and_problem(bad_inputs, name, phrase):
    folder, expected_codes = bad_inputs
    started = time.perf_counter()
    with pytest.raises(MediaError, match=re.escape(phrase)) as caught:
        extract(folder / name)
    assert caught.value.code == expected_codes[name]
    assert str(folder / name) in str(caught.value)
    assert isinstance(caught.value, ValueError)
    if name == "enormous.mkv":  # refused from the header: no 81-megapixel frame was decoded
        assert time.perf_counter() - started < 0.5


def test_missing_file_is_a_media_error(tmp_path):
    with pytest.raises(MediaError, match="does not exist"):
        extract(tmp_path / "nope.mp4")


def test_frame_offsets_are_slice_centres():
    assert frame_offsets(8.0, 4) == [1.0, 3.0, 5.0, 7.0]
    with pytest.raises(ValueError):
        frame_offsets(8.0, 0)


def test_segments_cover_the_track_and_short_tails_join_the_last_piece():
    rate = 100
    wave = np.arange(70 * rate, dtype=np.float32)
    pieces = split_segments(wave, rate, 30)
    assert [start for start, _ in pieces] == [0.0, 30.0]
    assert [piece.size for _, piece in pieces] == [30 * rate, 40 * rate]  # the 10 s tail joined
    assert np.array_equal(np.concatenate([piece for _, piece in pieces]), wave)
    assert len(split_segments(np.zeros(95 * rate, np.float32), rate, 30)) == 3  # 30+30+35
    assert len(split_segments(wave, rate, None)) == 1


def test_sound_is_stored_losslessly_at_its_rate(tmp_path):
    rng = np.random.default_rng(0)
    wave = (rng.uniform(-0.5, 0.5, 16000)).astype(np.float32)
    path = write_lossless(tmp_path / "s.flac", wave, 16000)
    back, rate = soundfile.read(path, dtype="float32")
    assert rate == 16000 and soundfile.info(str(path)).format == "FLAC"
    assert np.abs(back - wave).max() < 2.0 ** -22  # 24-bit quantisation only


@needs_media_tools
def test_a_truncated_video_gives_what_decodes_and_says_so(tmp_path):
    whole = make_video(tmp_path / "whole.mp4", "animals/mammals/dogs/dog", "animals/mammals/dogs/dog", seconds=4.0,
                       container_args=("-movflags", "+faststart"))  # index first, so the cut keeps it readable
    data = whole.read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: len(data) // 2])
    media = extract(cut)
    assert 1 <= len(media.frames) < 4  # no frame repeated for offsets past the cut
    assert len(set(media.frame_times)) == len(media.frame_times)
    assert media.audio_seconds < 3.0 and "could be decoded (file cut short or damaged)" in media.info["truncated"]
    assert "truncated" not in extract(whole).info
