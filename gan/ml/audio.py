"""Decoding sound files into mono float32 waveforms, and the volume change of the paper's Table 3.

Every caller gets either a usable waveform or an `AudioError` that names the file and says what is
wrong with it (missing, empty, undecodable, no samples, silent), never a half-usable array.
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile

# Peak amplitude below which a clip counts as silent: -80 dBFS, far under any real recording's
# noise floor but above the dither/rounding a "silent" encoder leaves behind.
SILENCE_PEAK = 1e-4


class AudioError(ValueError):
    """A sound file cannot be used: the message names the file and the problem; `code` is a short
    machine-readable kind ("bad_sound", or the limit it broke: "too_large", "too_long", "timeout")."""

    def __init__(self, message: str, code: str = "bad_sound"):
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class DecodeLimits:
    """What decoding one file may cost. Each limit is checked from the header before any sample is
    decoded, and again while decoding, since a header can lie (a duration of 1 s on an hour of
    sound, no duration at all). The time limit is checked between decoded blocks: a decoder is
    never interrupted inside one call, but no file keeps a worker longer than about this long.
    The defaults are generous; the import services pass the installation's settings."""

    max_bytes: int = 4 << 30
    max_seconds: float = 4 * 3600.0
    max_channels: int = 16
    max_sample_rate: int = 192_000
    max_decode_seconds: float = 300.0

    def check_size(self, path, size: int, error=None) -> None:
        if size > self.max_bytes:
            self._refuse(error, path, "too_large", f"{size:,} bytes, above the limit of {self.max_bytes:,}; "
                                                   "refused before decoding")

    def check_header(self, path, *, rate: int, channels: int, seconds: float, error=None) -> None:
        if channels > self.max_channels:
            self._refuse(error, path, "too_large", f"{channels} channels, above the limit of {self.max_channels}; "
                                                   "refused before decoding")
        if rate > self.max_sample_rate:
            self._refuse(error, path, "too_large", f"sample rate {rate} Hz, above the limit of "
                                                   f"{self.max_sample_rate} Hz; refused before decoding")
        if seconds > self.max_seconds:
            self._refuse(error, path, "too_long", f"lasts {seconds:.0f} s, above the limit of "
                                                  f"{self.max_seconds:.0f} s; refused before decoding")

    def watch(self, path, rate: int, error=None) -> "DecodeWatch":
        return DecodeWatch(self, path, rate, error)

    @staticmethod
    def _refuse(error, path, code: str, message: str):
        if error is None:
            raise AudioError(f"{path}: {message}", code)
        raise error(path, code, message)


class DecodeWatch:
    """Counts decoded samples and time for one file; raises when either goes past its limit."""

    def __init__(self, limits: DecodeLimits, path, rate: int, error=None):
        self.limits, self.path, self.error = limits, path, error
        self.max_samples = int(limits.max_seconds * max(rate, 1)) + max(rate, 1)  # a second of slack
        self.samples = 0
        self.deadline = time.monotonic() + limits.max_decode_seconds

    def add(self, samples: int) -> None:
        self.samples += int(samples)
        if self.samples > self.max_samples:
            self.limits._refuse(self.error, self.path, "too_long",
                                f"decodes to more than the limit of {self.limits.max_seconds:.0f} s "
                                "(its header said less); stopped decoding")
        self.tick()

    def tick(self) -> None:
        if time.monotonic() > self.deadline:
            self.limits._refuse(self.error, self.path, "timeout",
                                f"decoding took longer than the limit of {self.limits.max_decode_seconds:.0f} s")



def resample(wave: np.ndarray, orig_sr: int, target_sr: int) -> np.ndarray:
    """Band-limited resampling with soxr's HQ mode: the same result as librosa.resample's default
    (which calls soxr), without librosa's ~3 s first-call import in every worker process."""
    import soxr

    if int(orig_sr) == int(target_sr):
        return np.asarray(wave, dtype=np.float32)
    return soxr.resample(np.asarray(wave, dtype=np.float32), int(orig_sr), int(target_sr),
                         quality="HQ").astype(np.float32, copy=False)


def _decode_with_soundfile(path: Path, limits: DecodeLimits | None = None) -> tuple[np.ndarray, int]:
    if limits is None:
        data, rate = soundfile.read(str(path), dtype="float32", always_2d=True)
        return data.mean(axis=1), int(rate)
    with soundfile.SoundFile(str(path)) as sound:
        rate = int(sound.samplerate)
        seconds = sound.frames / rate if sound.frames > 0 and rate else 0.0
        limits.check_header(path, rate=rate, channels=sound.channels, seconds=seconds)
        watch = limits.watch(path, rate)
        chunks = []
        for block in sound.blocks(blocksize=1 << 16, dtype="float32", always_2d=True):
            watch.add(len(block))
            chunks.append(block.mean(axis=1))
    wave = np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.float32)
    return wave.astype(np.float32, copy=False), rate


# FFmpeg may only read the file it is given, as one of these single-file demuxers. Without the list
# it reads a file named .m3u8 (a manifest's "sound" column, say) as an HLS playlist and decodes the
# files the playlist names, anywhere on the disk; a text check alone is not enough (a few binary
# bytes after "#EXTM3U" pass it and FFmpeg still plays the list). Demuxers that are several formats
# in one ("mov,mp4,m4a,3gp,3g2,mj2", "matroska,webm") match by any of their names.
SAFE_DEMUXERS = ("mov", "matroska", "avi", "flv", "ogg", "mpeg", "mpegts", "asf", "aac", "mp3", "wav", "w64",
                 "flac", "aiff", "caf", "amr", "ac3", "eac3", "dts", "au", "wv", "ape", "tta", "mpc", "mpc8",
                 "rm", "nut", "ivf")
FFMPEG_OPEN_OPTIONS = {"format_whitelist": ",".join(SAFE_DEMUXERS), "protocol_whitelist": "file"}


def open_with_ffmpeg(path: str | os.PathLike):
    """av.open restricted to reading this one local file (see SAFE_DEMUXERS)."""
    import av  # imported lazily: only needed for the formats soundfile lacks, and for videos

    return av.open(str(path), options=dict(FFMPEG_OPEN_OPTIONS), metadata_errors="ignore")


def looks_like_text(path: str | os.PathLike, size: int = 512) -> bool:
    """Whether a file begins as plain text (notes or a playlist renamed .mp4, say): callers then say
    "a text file" and never quote it, since it may be anything the import was pointed at."""
    import codecs

    with open(path, "rb") as handle:
        head = handle.read(size)
    try:  # incremental: a character cut at the end of the 512 bytes is not an error
        text = codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError:
        return False
    printable = sum(ch.isprintable() or ch in "\r\n\t" for ch in text)
    return bool(text) and printable / len(text) > 0.95


def header_seconds(container, stream) -> float:
    """The duration a stream's header (else its container's) claims; 0.0 when it claims none."""
    if stream.duration is not None and stream.time_base:
        return float(stream.duration * stream.time_base)
    if container.duration is not None:
        return container.duration / 1_000_000  # AV_TIME_BASE: microseconds
    return 0.0


def stream_channels(stream) -> int:
    context = stream.codec_context
    layout = getattr(context, "layout", None)
    return int(getattr(context, "channels", 0) or (len(layout.channels) if layout is not None else 0))


def mono_chunks(container, stream, rate: int, on_frame=None):
    """The one PyAV audio decode loop: `stream` frame by frame as mono float32 chunks at `rate`
    (FFmpeg's resampler mixes the channels down), the resampler flushed at the end. `on_frame(frame)`
    sees each decoded frame first (a running count against limits)."""
    import av

    resampler = av.AudioResampler(format="flt", layout="mono", rate=rate)
    for frame in container.decode(stream):
        if on_frame is not None:
            on_frame(frame)
        for mono in resampler.resample(frame):
            yield mono.to_ndarray().reshape(-1)
    for mono in resampler.resample(None):
        yield mono.to_ndarray().reshape(-1)


def _decode_with_pyav(path: Path, limits: DecodeLimits | None = None) -> tuple[np.ndarray, int]:
    """Fallback for containers libsndfile cannot read (m4a, aac, webm, video files with sound)."""
    if looks_like_text(path):
        raise AudioError(f"{path}: cannot decode audio: it is a text file, not a sound file")
    chunks: list[np.ndarray] = []
    with open_with_ffmpeg(path) as container:
        if not container.streams.audio:
            raise AudioError(f"{path}: the file has no audio stream")
        stream = container.streams.audio[0]
        rate = int(stream.rate or stream.codec_context.sample_rate)
        watch = None
        if limits is not None:
            limits.check_header(path, rate=rate, channels=stream_channels(stream),
                                seconds=header_seconds(container, stream))
            watch = limits.watch(path, rate)
        chunks.extend(mono_chunks(container, stream, rate,
                                  on_frame=None if watch is None else lambda frame: watch.add(frame.samples)))
    wave = np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.float32)
    return wave.astype(np.float32, copy=False), rate


def load_audio(path: str | os.PathLike, sr: int | None = None, *,
               allow_silent: bool = False, limits: DecodeLimits | None = None) -> tuple[np.ndarray, int]:
    """Decode `path` to a mono float32 waveform in [-1, 1] and its sample rate.

    sr=None keeps the file's native rate (what the authors' feature script did); an int resamples.
    Raises AudioError for a missing, empty, corrupt, sample-less or (unless allow_silent) silent file,
    and, with `limits`, for one beyond them (files from outside: imports, uploads).
    """
    path = Path(path)
    if not path.exists():
        raise AudioError(f"{path}: audio file does not exist")
    if not path.is_file():
        raise AudioError(f"{path}: is not a regular file")
    size = path.stat().st_size
    if size == 0:
        raise AudioError(f"{path}: audio file is empty (0 bytes)")
    if sr is not None and (not isinstance(sr, (int, np.integer)) or sr <= 0):
        raise ValueError(f"sample rate must be a positive int or None, got {sr!r}")
    if limits is not None:
        limits.check_size(path, size)

    try:
        wave, rate = _decode_with_soundfile(path, limits)
    except (soundfile.LibsndfileError, RuntimeError) as sndfile_error:
        try:
            wave, rate = _decode_with_pyav(path, limits)
        except AudioError:
            raise
        except Exception as av_error:  # PyAV raises many types (InvalidDataError, ValueError, ...)
            raise AudioError(
                f"{path}: cannot decode audio ({size} bytes; not a readable sound file): "
                f"libsndfile said {sndfile_error}; FFmpeg said {av_error}") from av_error
    except OSError as exc:
        raise AudioError(f"{path}: cannot read file: {exc}") from exc

    if wave.size == 0:
        raise AudioError(f"{path}: decoded to zero audio samples")
    if not np.all(np.isfinite(wave)):
        raise AudioError(f"{path}: decoded samples contain NaN or infinity")
    peak = float(np.max(np.abs(wave)))
    if peak < SILENCE_PEAK and not allow_silent:
        raise AudioError(f"{path}: audio is silent (peak amplitude {peak:.2e} over "
                         f"{wave.size / rate:.2f} s, below {SILENCE_PEAK:g})")
    if sr is not None and sr != rate:
        wave, rate = resample(wave, rate, int(sr)), int(sr)
    return np.ascontiguousarray(wave, dtype=np.float32), rate


def scale_volume(wave: np.ndarray, factor: float, clip: bool = True) -> np.ndarray:
    """Multiply the waveform by `factor`; with clip=True, saturate at ±1 like a re-encoded file.

    The paper's volume experiment scales by 0.5/2/3; their mp3 re-encode clipped at full scale, so
    clipping is the default and clip=False keeps the pure linear change.
    """
    factor = float(factor)
    if not np.isfinite(factor) or factor <= 0:
        raise ValueError(f"volume factor must be a finite number > 0, got {factor!r}")
    scaled = np.asarray(wave, dtype=np.float32) * np.float32(factor)
    if clip:
        np.clip(scaled, -1.0, 1.0, out=scaled)
    return scaled
