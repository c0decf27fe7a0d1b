"""A researcher's own sound: what the check accepts and refuses (with what message), and that a sound
is stored once, by content."""
import io
import os

import numpy as np
import pytest
import soundfile as sf
from PIL import Image

from gan.ml.audio import SILENCE_PEAK, load_audio
from gan.models import TrySound
from gan.services import sound_upload
from gan.services.sound_upload import (MAX_UPLOAD_BYTES, SoundRefused, check_sound_file, clean_name,
                                       store_sound)
from tests.gan.try_sound_helpers import write_tone, write_webm


def refusal(path, **kwargs) -> SoundRefused:
    with pytest.raises(SoundRefused) as caught:
        check_sound_file(path, **kwargs)
    return caught.value


def test_a_wav_tone_is_accepted_with_its_length_rate_and_peak(tmp_path):
    checked = check_sound_file(write_tone(tmp_path / "a.wav", seconds=1.5, rate=16000, amplitude=0.3))
    assert checked.audio_format == "WAV" and checked.sample_rate == 16000
    assert checked.duration_s == pytest.approx(1.5) and checked.peak == pytest.approx(0.3, abs=1e-3)


def test_a_browser_recording_webm_opus_is_accepted(tmp_path):
    checked = check_sound_file(write_webm(tmp_path / "rec.webm", seconds=2.0))
    assert checked.audio_format == "matroska,webm" and checked.sample_rate == 48000
    assert checked.duration_s == pytest.approx(2.0, abs=0.05) and checked.peak > 0.2


@pytest.mark.parametrize("make, message", [
    (lambda p: p.write_bytes(b""), "the file is empty (0 bytes)"),
    (lambda p: p.write_text("sound,image\na.wav,a.png\n"), "the file is text, not a sound"),
    (lambda p: p.write_bytes(os.urandom(4096)), "the file is not a sound this platform can read"),
    (lambda p: Image.new("RGB", (32, 32), "red").save(p, format="PNG"), "the file is not a sound"),
])
def test_what_is_not_audio_is_refused_with_a_400_and_a_reason(tmp_path, make, message):
    path = tmp_path / "upload.wav"
    make(path)
    refused = refusal(path)
    assert refused.status == 400 and str(refused).startswith(message)


def test_a_video_without_sound_has_no_audio_stream(tmp_path):
    import av

    path = tmp_path / "silent-film.mkv"
    with av.open(str(path), "w", format="matroska") as container:
        stream = container.add_stream("mpeg4", rate=5)
        stream.width = stream.height = 32
        for _ in range(3):
            frame = av.VideoFrame.from_ndarray(np.zeros((32, 32, 3), np.uint8), format="rgb24")
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    assert str(refusal(path)) == "the file has no audio stream"


@pytest.mark.parametrize("amplitude", [0.0, SILENCE_PEAK / 2])
def test_silence_is_refused_at_the_threshold_the_worker_uses(tmp_path, amplitude):
    path = write_tone(tmp_path / "quiet.wav", amplitude=amplitude, subtype="FLOAT")
    refused = refusal(path)
    assert refused.status == 400 and str(refused).startswith("the sound is silent (peak amplitude")
    with pytest.raises(ValueError, match="silent"):
        load_audio(path)  # the worker's decoder agrees


def test_a_one_hour_file_is_refused_from_its_header_without_decoding(tmp_path, monkeypatch):
    path = write_tone(tmp_path / "hour.wav", seconds=3600, rate=1000, freq=100, subtype="PCM_U8")  # 3.6 MB
    assert path.stat().st_size < MAX_UPLOAD_BYTES
    monkeypatch.setattr(sf, "read", lambda *a, **k: pytest.fail("decoded a file its header says is too long"))
    assert str(refusal(path)) == "a sound may be at most 30 s; this one is 3600.0 s long (cut it shorter)"


def test_a_long_recording_without_a_length_in_its_header_is_refused_after_30_s_of_decoding(tmp_path, monkeypatch):
    """MediaRecorder's WebM has no duration: the check counts while it decodes and stops past the cap."""
    import av

    path = write_webm(tmp_path / "long.webm", seconds=45)
    monkeypatch.setattr(sound_upload, "header_seconds", lambda container, stream: 0.0)  # says nothing
    decoded = []
    resampler = av.AudioResampler

    class Counting:
        def __init__(self, **kwargs):
            self.inner = resampler(**kwargs)

        def resample(self, frame):
            out = self.inner.resample(frame)
            decoded.extend(f.samples for f in out)
            return out

    monkeypatch.setattr(av, "AudioResampler", Counting)
    assert str(refusal(path)) == "a sound may be at most 30 s; this one is longer than that (cut it shorter)"
    assert 30 < sum(decoded) / 48000 < 30.1  # stopped within a frame of the cap, not at 45 s


def test_the_size_cap_is_413(tmp_path):
    path = tmp_path / "big.wav"
    with open(path, "wb") as handle:
        handle.truncate(MAX_UPLOAD_BYTES + 1)
    refused = refusal(path)
    assert refused.status == 413 and str(refused) == "the file is 20.0 MB; a sound may be at most 20.0 MB"


@pytest.mark.django_db
def test_a_sound_is_stored_once_by_content(tmp_path, media_root, staff_user):
    first = write_tone(tmp_path / "a.wav")
    copy = tmp_path / "renamed copy.wav"
    copy.write_bytes(first.read_bytes())
    sound, created = store_sound(first, check_sound_file(first), original_name="a.wav", user=staff_user)
    again, created_again = store_sound(copy, check_sound_file(copy), original_name=copy.name)
    assert (created, created_again) == (True, False) and again.pk == sound.pk
    assert TrySound.objects.count() == 1
    stored = media_root / sound.file.name
    assert stored.read_bytes() == first.read_bytes() and stored.suffix == ".wav"
    assert [p for p in media_root.rglob("*") if p.is_file()] == [stored]  # no temporary file left
    assert sound.original_name == "a.wav" and sound.uploaded_by == staff_user
    assert sound.duration_s == pytest.approx(1.0) and sound.sample_rate == 16000
    stored.unlink()  # removed by hand: the next upload of the same bytes puts it back
    store_sound(copy, check_sound_file(copy))
    assert stored.read_bytes() == first.read_bytes()


def test_the_sent_file_name_is_kept_for_display_only():
    assert clean_name("../../etc/passwd") == "passwd"
    assert clean_name("C:\\Users\\me\\take 1.wav") == "take 1.wav"
    assert clean_name("a\x00b\nc.wav") == "abc.wav"
    assert len(clean_name("x" * 1000)) == 255


def test_the_check_needs_no_torch():
    import subprocess
    import sys

    code = ("import os, sys; os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'evalsite.settings'); import django; "
            "django.setup(); import gan.services.sound_upload, gan.try_sound_views; print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert out.stdout.strip() == "False"


def test_a_file_like_upload_is_copied_to_a_temporary_file_that_is_removed(tmp_path):
    from django.core.files.uploadedfile import SimpleUploadedFile

    data = io.BytesIO()
    sf.write(data, np.zeros(10, np.float32), 8000, format="WAV")
    uploaded = SimpleUploadedFile("x.wav", data.getvalue())
    with sound_upload.upload_on_disk(uploaded) as path:
        assert path.read_bytes() == data.getvalue()
    assert not path.exists()
