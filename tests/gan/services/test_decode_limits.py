"""Hostile sound and video files in an import: each is refused from its header before decoding, or
stopped while decoding when the header lied, or when decoding takes too long, and becomes one
failed row of the import record; the other rows are imported and the job succeeds."""
import shutil

import numpy as np
import pytest
import soundfile

from gan.ml import audio, media
from gan.ml.audio import AudioError, DecodeLimits, load_audio
from gan.ml.media import MediaError, extract
from gan.models import ImportRecord, ImportStatus
from jobs.models import JobStatus
from tests.gan.import_helpers import DOG, run
from tests.gan.media_fixtures import STAMPS, ffmpeg, make_video, needs_media_tools

pytestmark = [pytest.mark.django_db, needs_media_tools]


def tone(path, seconds=1.0, rate=16000, channels=1):
    t = np.arange(int(seconds * rate)) / rate
    wave = 0.3 * np.sin(2 * np.pi * 440 * t)
    soundfile.write(path, np.repeat(wave[:, None], channels, axis=1), rate)
    return path


def failures():
    return {r.source.split(":")[0]: r for r in ImportRecord.objects.filter(status=ImportStatus.FAILED)}


def test_hostile_sounds_in_a_manifest_are_refused_per_row(media_root, tmp_path, settings):
    settings.IMPORT_MAX_SECONDS, settings.IMPORT_MAX_CHANNELS, settings.IMPORT_MAX_SAMPLE_RATE = 5, 8, 96000
    folder = tmp_path / "m"
    folder.mkdir()
    shutil.copy(STAMPS / f"{DOG}.png", folder / "dog.png")
    tone(folder / "good.wav")
    tone(folder / "wide.wav", channels=20)
    tone(folder / "fast.wav", seconds=0.2, rate=192000)
    tone(folder / "long.wav", seconds=10)
    rows = ["good.wav", "wide.wav", "fast.wav", "long.wav"]
    (folder / "manifest.csv").write_text("sound,image,label\n" + "".join(f"{r},dog.png,dog\n" for r in rows))
    job = run("import_manifest", {"dataset": "hostile", "manifest": str(folder / "manifest.csv")})
    assert job.status == JobStatus.SUCCEEDED and job.metrics["imported"] == 1
    assert job.metrics["failures_by_kind"] == {"too_large": 2, "too_long": 1}
    reasons = {line: record.reason for line, record in failures().items()}
    assert "20 channels, above the limit of 8; refused before decoding" in reasons["line 3"]
    assert "sample rate 192000 Hz, above the limit of 96000 Hz" in reasons["line 4"]
    assert "lasts 10 s, above the limit of 5 s; refused before decoding" in reasons["line 5"]


def test_a_sound_whose_header_lies_is_stopped_while_decoding(tmp_path, monkeypatch):
    # libsndfile reads no further than its header's frame count; FFmpeg (m4a, aac, webm, ...) decodes
    # whatever is there, so its samples are counted as they come.
    path = tmp_path / "long.m4a"
    ffmpeg("-f", "lavfi", "-i", "sine=frequency=440:duration=10", "-c:a", "aac", str(path))
    with pytest.raises(AudioError, match="lasts 10 s, above the limit of 3 s; refused before decoding"):
        load_audio(path, limits=DecodeLimits(max_seconds=3))
    monkeypatch.setattr(audio, "header_seconds", lambda container, stream: 1.0)  # the header says 1 s
    with pytest.raises(AudioError, match="decodes to more than the limit of 3 s") as refused:
        load_audio(path, limits=DecodeLimits(max_seconds=3))
    assert refused.value.code == "too_long"


def test_size_and_decode_time_limits(tmp_path):
    path = tone(tmp_path / "a.wav", seconds=2)
    with pytest.raises(AudioError, match="above the limit of 1,000; refused before decoding"):
        load_audio(path, limits=DecodeLimits(max_bytes=1000))
    with pytest.raises(AudioError, match="decoding took longer than the limit") as slow:
        load_audio(path, limits=DecodeLimits(max_decode_seconds=-1))
    assert slow.value.code == "timeout"
    assert load_audio(path, limits=DecodeLimits())[0].size == 32000  # within every limit: decoded whole


def test_a_video_whose_sound_track_outlasts_its_header_is_stopped(tmp_path, monkeypatch):
    video = make_video(tmp_path / "v.mp4", DOG, DOG, seconds=4)
    with pytest.raises(MediaError, match="lasts 4 s, above the limit of 2 s") as refused:
        extract(video, limits=DecodeLimits(max_seconds=2))
    assert refused.value.code == "too_long"
    monkeypatch.setattr(media, "header_seconds", lambda container, stream: 1.0)  # every header says 1 s
    with pytest.raises(MediaError, match="decodes to more than the limit of 2 s"):
        extract(video, limits=DecodeLimits(max_seconds=2))
    with pytest.raises(MediaError, match="decoding took longer") as slow:
        extract(video, limits=DecodeLimits(max_decode_seconds=-1))
    assert slow.value.code == "timeout"


def test_a_video_beyond_the_limits_is_one_failed_row_of_the_import(media_root, tmp_path, settings):
    folder = tmp_path / "videos"
    make_video(folder / "short.mp4", DOG, DOG, seconds=2)
    make_video(folder / "long.mp4", DOG, DOG, seconds=6)
    settings.IMPORT_MAX_SECONDS = 4
    job = run("import_videos", {"dataset": "vids", "folder": str(folder)})
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert job.metrics["imported"] == 1 and job.metrics["failures_by_kind"] == {"too_long": 1}
    (record,) = ImportRecord.objects.filter(status=ImportStatus.FAILED)
    assert "long.mp4" in record.reason and "above the limit of 4 s" in record.reason
