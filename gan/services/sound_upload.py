"""Sounds a researcher brings (the Try it page's upload or recording, `generate --sound FILE`): checked
before anything is stored, then stored once, by content.

The check reads headers where the format has them and otherwise decodes with a running count, so a
1-hour file is refused after at most MAX_SECONDS of decoding and a 100 MB one before it is read; it
needs numpy, libsndfile and PyAV only (the web tier runs it and never loads torch).
"""
from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import unicodedata
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile
from django.db import IntegrityError, transaction

from ..media_paths import media_path, media_relative
from ..ml.audio import SILENCE_PEAK, header_seconds, looks_like_text, mono_chunks, open_with_ffmpeg
from ..models import TrySound

MAX_UPLOAD_BYTES = 20 * 1024 * 1024
MAX_SECONDS = 30.0
SOUNDS_FOLDER = "try/sounds"
# File extension of the stored bytes by what the decoder found (the page's <audio> player and the
# staff media view go by the extension); the name the browser sent is not trusted for it.
EXTENSIONS = {"WAV": "wav", "WAVEX": "wav", "FLAC": "flac", "OGG": "ogg", "MP3": "mp3", "AIFF": "aiff",
              "matroska,webm": "webm", "ogg": "ogg", "mp3": "mp3", "wav": "wav", "flac": "flac",
              "mov,mp4,m4a,3gp,3g2,mj2": "m4a", "aac": "aac"}


class SoundRefused(ValueError):
    """The sound cannot be used; the message says why in one line, `status` is the HTTP answer."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class CheckedSound:
    audio_format: str
    duration_s: float
    sample_rate: int
    peak: float


def megabytes(size: int) -> str:
    return f"{size / 1024 / 1024:.1f} MB"


def too_big(size: int | None, what: str = "the file") -> SoundRefused:
    """413; size=None when reading stopped at the cap (the whole size is then not known)."""
    how_big = f"over {megabytes(MAX_UPLOAD_BYTES)}" if size is None else megabytes(size)
    return SoundRefused(f"{what} is {how_big}; a sound may be at most {megabytes(MAX_UPLOAD_BYTES)}", status=413)


def _too_long(seconds: float | None, max_seconds: float) -> SoundRefused:
    """seconds=None: decoding stopped past the cap, so the length is not known, only that it is too long."""
    length = "longer than that" if seconds is None else f"{seconds:.1f} s long"
    return SoundRefused(f"a sound may be at most {max_seconds:g} s; this one is {length} (cut it shorter)")


def check_sound_file(path: str | os.PathLike, *, max_seconds: float = MAX_SECONDS) -> CheckedSound:
    """What the sound is (format, duration, rate, peak), or SoundRefused: empty, too big, not audio,
    no audio stream, longer than max_seconds, no samples, NaN, or silent (peak below SILENCE_PEAK,
    the threshold load_audio refuses at, so a sound that passes here decodes in the worker)."""
    size = os.stat(path).st_size
    if size == 0:
        raise SoundRefused("the file is empty (0 bytes)")
    if size > MAX_UPLOAD_BYTES:
        raise too_big(size)
    try:
        info = soundfile.info(str(path))
    except (soundfile.LibsndfileError, RuntimeError):
        checked = _check_with_ffmpeg(Path(path), max_seconds)
    else:
        checked = _check_with_libsndfile(Path(path), info, max_seconds)
    if checked.peak < SILENCE_PEAK:
        raise SoundRefused(f"the sound is silent (peak amplitude {checked.peak:.1e}, below {SILENCE_PEAK:g})")
    return checked


def _check_with_libsndfile(path: Path, info, max_seconds: float) -> CheckedSound:
    rate = int(info.samplerate)
    if rate <= 0:
        raise SoundRefused("the file's header gives no sample rate")
    if info.frames / rate > max_seconds:  # the header's length: refused without decoding
        raise _too_long(info.frames / rate, max_seconds)
    # Read at most one sample more than allowed, whatever the header says (it may lie).
    limit = int(max_seconds * rate) + 1
    try:
        data = soundfile.read(str(path), frames=limit, dtype="float32", always_2d=True)[0]
    except (soundfile.LibsndfileError, RuntimeError) as exc:
        raise SoundRefused(f"the sound cannot be decoded: {exc}") from exc
    if len(data) >= limit:
        raise _too_long(None, max_seconds)
    return CheckedSound(info.format, len(data) / rate, rate, _peak(data))


def _check_with_ffmpeg(path: Path, max_seconds: float) -> CheckedSound:
    """Formats libsndfile lacks (the browser's WebM/Opus recordings, m4a): PyAV, restricted to this
    one file (open_with_ffmpeg), decoded by gan.ml.audio.mono_chunks with a running count here,
    because load_audio decodes a whole file before it can say how long it is."""
    if looks_like_text(path):
        raise SoundRefused("the file is text, not a sound")
    try:
        with open_with_ffmpeg(path) as container:
            if not container.streams.audio:
                raise SoundRefused("the file has no audio stream")
            stream = container.streams.audio[0]
            rate = int(stream.rate or stream.codec_context.sample_rate or 0)
            if rate <= 0:
                raise SoundRefused("the file's audio stream has no sample rate")
            header = header_seconds(container, stream)  # 0.0 when the header says nothing
            if header > max_seconds:
                raise _too_long(header, max_seconds)
            samples, peak, limit = 0, 0.0, max_seconds * rate
            for chunk in mono_chunks(container, stream, rate):
                samples += chunk.size
                peak = max(peak, _peak(chunk))
                if samples > limit:  # the header said less, or nothing (MediaRecorder's WebM)
                    raise _too_long(None, max_seconds)
            format_name = container.format.name
    except SoundRefused:
        raise
    except Exception as exc:  # PyAV raises many types (InvalidDataError, ValueError, ...) for non-audio
        raise SoundRefused("the file is not a sound this platform can read (neither libsndfile nor "
                           f"FFmpeg could decode it: {str(exc)[:200]})") from exc
    if samples == 0:
        raise SoundRefused("the file decodes to no audio samples")
    return CheckedSound(format_name, samples / rate, rate, peak)


def _peak(samples: np.ndarray) -> float:
    if samples.size == 0:
        return 0.0
    if not np.all(np.isfinite(samples)):
        raise SoundRefused("the sound's samples contain NaN or infinity")
    return float(np.max(np.abs(samples)))


@contextmanager
def upload_on_disk(uploaded):
    """A path to the bytes of a Django UploadedFile: its own temporary file when Django streamed it
    to disk, otherwise a copy in the system's temporary folder (never under MEDIA_ROOT, so a refused
    upload leaves nothing behind)."""
    if hasattr(uploaded, "temporary_file_path"):
        yield Path(uploaded.temporary_file_path())
        return
    handle, name = tempfile.mkstemp(prefix="try-sound-", suffix=".upload")
    try:
        with os.fdopen(handle, "wb") as out:
            for chunk in uploaded.chunks():
                out.write(chunk)
        yield Path(name)
    finally:
        os.unlink(name)


def clean_name(name: str) -> str:
    """The file name as sent, kept only for display: its last path part, no control characters."""
    base = os.path.basename(str(name or "").replace("\\", "/"))
    return "".join(ch for ch in base if unicodedata.category(ch)[0] != "C")[:255]


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def store_sound(path: str | os.PathLike, checked: CheckedSound, *, original_name: str = "",
                user=None) -> tuple[TrySound, bool]:
    """The TrySound of these bytes, stored now (created=True) or found (the same sound uploaded
    before: one row and one file per sound, whoever sent it and whatever it was called)."""
    path = Path(path)
    sha = _sha256(path)
    existing = TrySound.objects.filter(sha256=sha).first()
    if existing is not None:
        if not media_path(existing.file.name).is_file():  # the file was removed by hand: put it back
            _copy_into_place(path, media_path(existing.file.name))
        return existing, False
    extension = EXTENSIONS.get(checked.audio_format, "bin")
    target = media_path(SOUNDS_FOLDER) / sha[:2] / f"{sha}.{extension}"
    _copy_into_place(path, target)
    try:
        with transaction.atomic():
            sound = TrySound.objects.create(
                sha256=sha, file=media_relative(target), original_name=clean_name(original_name),
                audio_format=checked.audio_format[:32], duration_s=round(checked.duration_s, 3),
                sample_rate=checked.sample_rate, size_bytes=path.stat().st_size,
                uploaded_by=user if user is not None and user.pk else None)
    except IntegrityError:  # the same bytes stored by a concurrent request: theirs is ours
        return TrySound.objects.get(sha256=sha), False
    return sound, True


def _copy_into_place(source: Path, target: Path) -> None:
    """Copy to a temporary name beside the target, then rename: a reader never sees half a file."""
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    try:
        with os.fdopen(handle, "wb") as out, open(source, "rb") as src:
            shutil.copyfileobj(src, out)
        os.replace(temp, target)
    finally:
        if os.path.exists(temp):
            os.unlink(temp)
