"""Decoding sound files into mono float32 waveforms, and the volume change of the paper's Table 3.

Every caller gets either a usable waveform or an `AudioError` that names the file and says what is
wrong with it (missing, empty, undecodable, no samples, silent), never a half-usable array.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import soundfile

# Peak amplitude below which a clip counts as silent: -80 dBFS, far under any real recording's
# noise floor but above the dither/rounding a "silent" encoder leaves behind.
SILENCE_PEAK = 1e-4


class AudioError(ValueError):
    """A sound file cannot be used: the message names the file and the problem."""


def resample(wave: np.ndarray, orig_sr: int, target_sr: int) -> np.ndarray:
    """Band-limited resampling with soxr's HQ mode: the same result as librosa.resample's default
    (which calls soxr), without librosa's ~3 s first-call import in every worker process."""
    import soxr

    if int(orig_sr) == int(target_sr):
        return np.asarray(wave, dtype=np.float32)
    return soxr.resample(np.asarray(wave, dtype=np.float32), int(orig_sr), int(target_sr),
                         quality="HQ").astype(np.float32, copy=False)


def _decode_with_soundfile(path: Path) -> tuple[np.ndarray, int]:
    data, rate = soundfile.read(str(path), dtype="float32", always_2d=True)
    return data.mean(axis=1), int(rate)


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


def _decode_with_pyav(path: Path) -> tuple[np.ndarray, int]:
    """Fallback for containers libsndfile cannot read (m4a, aac, webm, video files with sound)."""
    import av

    if looks_like_text(path):
        raise AudioError(f"{path}: cannot decode audio: it is a text file, not a sound file")
    chunks: list[np.ndarray] = []
    with open_with_ffmpeg(path) as container:
        if not container.streams.audio:
            raise AudioError(f"{path}: the file has no audio stream")
        stream = container.streams.audio[0]
        rate = int(stream.rate or stream.codec_context.sample_rate)
        resampler = av.AudioResampler(format="flt", layout="mono", rate=rate)
        for frame in container.decode(stream):
            for mono in resampler.resample(frame):
                chunks.append(mono.to_ndarray().reshape(-1))
        for mono in resampler.resample(None):
            chunks.append(mono.to_ndarray().reshape(-1))
    wave = np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.float32)
    return wave.astype(np.float32, copy=False), rate


def load_audio(path: str | os.PathLike, sr: int | None = None, *,
               allow_silent: bool = False) -> tuple[np.ndarray, int]:
    """Decode `path` to a mono float32 waveform in [-1, 1] and its sample rate.

    sr=None keeps the file's native rate (what the authors' feature script did); an int resamples.
    Raises AudioError for a missing, empty, corrupt, sample-less or (unless allow_silent) silent file.
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

    try:
        wave, rate = _decode_with_soundfile(path)
    except (soundfile.LibsndfileError, RuntimeError) as sndfile_error:
        try:
            wave, rate = _decode_with_pyav(path)
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
