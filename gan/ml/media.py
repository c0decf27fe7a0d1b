"""Decoding videos with PyAV (FFmpeg): a few frames at set offsets, resized small, and the sound track.

Every caller gets a usable `ExtractedMedia` or a `MediaError` whose `code` names the kind of problem
(for the import summary) and whose message names the file and says what is wrong: zero-length file,
not a media file at all (e.g. a text file named .mp4), corrupt or truncated, no video stream (audio
only), no audio track, an enormous resolution (refused from the stream header, before any frame is
decoded), no decodable frames, a silent or empty sound track.

Frames are taken at fractions of the duration (the authors took 4 per video), centre-cropped to a
square and resized to `frame_size` (64 in the paper). The sound track is decoded to mono float32 at
its native rate; `write_lossless` stores it as FLAC, and `split_segments` cuts long tracks into
~30 s pieces.

Still images (a manifest's pictures, stored frames) go through `open_image` / `check_image`: the
same pixel cap as video frames, read from the header before anything is decoded. `read_image` is the
one decoder every loader uses (training, evaluation, cleaning, analysis): capped, transparency on
white, optionally resized, as HWC or CHW uint8. `write_png` is the one PNG writer: atomic (and fenced
inside a job), with an optional JSON sidecar of its provenance written before the image, so whoever
finds the image finds its sidecar too.
"""
from __future__ import annotations

import json
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from . import atomic
from .audio import (SILENCE_PEAK, DecodeLimits, DecodeWatch, header_seconds, looks_like_text, mono_chunks,
                    open_with_ffmpeg, stream_channels)

VIDEO_EXTENSIONS = (".mp4", ".m4v", ".mov", ".mkv", ".webm", ".avi", ".flv", ".ogv", ".mpg", ".mpeg",
                    ".3gp", ".wmv", ".ts")
# 8K UHD is 33 Mpx; anything above is refused before decoding (a 60,000 x 60,000 stream header would
# otherwise make FFmpeg allocate ~10 GB for one RGB frame). The same cap holds for every still image
# (`open_image`): a 12,000 x 12,000 PNG of 168 kB decodes to 576 MB of RGBA and peaked at 4.2 GB when
# cleaned.
DEFAULT_MAX_PIXELS = 7680 * 4320
DEFAULT_MAX_SECONDS = 4 * 3600.0
# A frame more than this before the wanted offset means the stream ran out (a truncated file, or a
# header that overstates the duration); such an offset gets no frame rather than a repeated one.
LATE_FRAME_TOLERANCE = 0.5


class MediaError(ValueError):
    """A media file cannot be used; `code` is a short machine-readable kind, the message says why."""

    def __init__(self, path, code: str, message: str):
        self.path, self.code = str(path), code
        super().__init__(f"{path}: {message}")


@dataclass
class ExtractedMedia:
    frames: list[np.ndarray]  # (frame_size, frame_size, 3) uint8 each
    frame_times: list[float]  # seconds from the start
    audio: np.ndarray  # mono float32 in [-1, 1] at `sample_rate`
    sample_rate: int
    duration: float  # seconds (of the video stream, else the container)
    width: int
    height: int
    info: dict = field(default_factory=dict)  # codecs, frame rate, ... (stored with the import record)

    @property
    def audio_seconds(self) -> float:
        return self.audio.size / self.sample_rate if self.sample_rate else 0.0


def frame_offsets(duration: float, n_frames: int) -> list[float]:
    """`n_frames` times spread evenly inside the video, at the centres of equal slices (never the very
    first or last frame, which are often black or a fade)."""
    if n_frames < 1:
        raise ValueError(f"n_frames must be at least 1, got {n_frames}")
    return [duration * (i + 0.5) / n_frames for i in range(n_frames)]


def square_resize(image: Image.Image, size: int) -> np.ndarray:
    """Centre-crop to a square, then resize with antialiasing (as the paper's 64x64 frames)."""
    width, height = image.size
    side = min(width, height)
    left, top = (width - side) // 2, (height - side) // 2
    square = image.convert("RGB").crop((left, top, left + side, top + side))
    return np.asarray(square.resize((size, size), Image.BICUBIC, reducing_gap=3.0))


def _open(path: Path):
    import av

    try:
        return open_with_ffmpeg(path)
    except (av.error.InvalidDataError, av.error.ArgumentError) as exc:  # ArgumentError: a demuxer not allowed
        raise MediaError(path, "corrupt", f"corrupt or truncated: FFmpeg finds no valid container "
                                          f"({exc.strerror or exc})") from exc
    except (av.error.FFmpegError, UnicodeDecodeError, OSError) as exc:
        raise MediaError(path, "corrupt", f"cannot be opened: {exc}") from exc


def open_image(path: str | os.PathLike, max_pixels: int = DEFAULT_MAX_PIXELS) -> Image.Image:
    """Open a still image lazily, refusing it from its header when it has more than `max_pixels`
    pixels (nothing is decoded yet). The caller closes it (use it in a `with`)."""
    path = Path(path)
    _check_file(path, "image")
    try:
        with warnings.catch_warnings():  # PIL warns from 89 Mpx; our cap is lower and says more
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(path)
    except Image.DecompressionBombError as exc:  # PIL's own header check (above 179 Mpx)
        raise MediaError(path, "too_large", f"image is above the limit of {max_pixels:,} pixels "
                                            f"({exc}); refused before decoding") from exc
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise MediaError(path, "bad_image", "not a readable image (no image format recognised)") from exc
    width, height = image.size
    if width * height > max_pixels:
        image.close()
        raise MediaError(path, "too_large", f"image of {width}x{height} is above the limit of {max_pixels:,} "
                                            f"pixels; refused before decoding")
    return image


def check_image(path: str | os.PathLike, max_pixels: int = DEFAULT_MAX_PIXELS) -> tuple[int, int]:
    """(width, height) of a usable image: within the pixel cap (from its header) and decodable to
    the end (a truncated file fails here, as `Image.verify` would miss)."""
    with open_image(path, max_pixels) as image:
        try:
            image.load()
        except (OSError, ValueError, SyntaxError) as exc:
            raise MediaError(path, "bad_image", f"image cannot be decoded (truncated or damaged: "
                                                f"{type(exc).__name__})") from exc
        return image.size


def read_image(path: str | os.PathLike, *, channels: int = 3, size: int | None = None,
               channels_first: bool = False, max_pixels: int = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """A still image as uint8: (H, W, 3) for channels=3, (H, W) for channels=1, or (C, H, W) with
    `channels_first`. Transparent pixels are put on white (cut-outs; an opaque image is unchanged),
    then the image is resized to `size` x `size` (bicubic) when it is not that size already.
    Raises MediaError for a missing, unreadable, over-the-cap or truncated file."""
    if channels not in (1, 3):
        raise ValueError(f"channels must be 1 or 3; got {channels!r}")
    with open_image(path, max_pixels) as image:
        try:
            rgba = image.convert("RGBA")
        except (OSError, ValueError, SyntaxError) as exc:
            raise MediaError(path, "bad_image", f"image cannot be decoded (truncated or damaged: "
                                                f"{type(exc).__name__})") from exc
    flat = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
    flat.alpha_composite(rgba)
    picture = flat.convert("L" if channels == 1 else "RGB")
    if size is not None and picture.size != (size, size):
        picture = picture.resize((size, size), Image.BICUBIC)
    array = np.asarray(picture, dtype=np.uint8)
    if channels_first:
        return array[None] if channels == 1 else array.transpose(2, 0, 1)
    return array


def write_png(path: str | os.PathLike, image: np.ndarray | Image.Image, provenance: dict | None = None, *,
              sync: bool = False) -> Path:
    """Write `image` (a PIL image, or uint8 HWC with 1 or 3 channels, or HW) as PNG at `path`,
    atomically (see atomic.py: fenced inside a job). With `provenance`, its JSON goes beside the image
    (same name, .json) first. sync=False: a PNG is cheap to remake, so no fsync before the rename."""
    path = Path(path)
    if provenance is not None:
        atomic.write_bytes(path.with_suffix(".json"), json.dumps(provenance, indent=1, default=str).encode(),
                           sync=sync)
    if not isinstance(image, Image.Image):
        array = np.asarray(image)
        image = Image.fromarray(np.ascontiguousarray(array[..., 0] if array.ndim == 3 and array.shape[-1] == 1
                                                     else array))
    atomic.write_with(path, lambda handle: image.save(handle, format="PNG"), sync=sync)
    return path


def _check_file(path: Path, what: str = "file") -> None:
    if not path.exists():
        raise MediaError(path, "missing", f"{what} does not exist")
    if not path.is_file():
        raise MediaError(path, "not_file", "is not a regular file")
    if path.stat().st_size == 0:
        raise MediaError(path, "zero_length", f"{what} is empty (0 bytes)")


def _decode_frames(path: Path, container, stream, times: list[float], size: int,
                   watch: DecodeWatch | None = None) -> tuple[list, list]:
    """For each wanted time: seek to the key frame before it, decode forward to the first frame at or
    after it. Seeking keeps long videos cheap: only a GOP or so is decoded per frame taken."""
    import av

    frames, stamps = [], []
    base = stream.time_base
    for wanted in times:
        target = int(wanted / base) + (stream.start_time or 0)
        picked = None
        try:
            container.seek(target, stream=stream, backward=True, any_frame=False)
            for frame in container.decode(stream):
                if watch is not None:
                    watch.tick()
                picked = frame
                if frame.pts is not None and frame.pts >= target:
                    break
        except av.error.FFmpegError as exc:
            if picked is None:
                raise MediaError(path, "corrupt", f"video stream cannot be decoded near {wanted:.2f} s: {exc}") from exc
        if picked is None:
            continue
        reached = float((picked.pts - (stream.start_time or 0)) * base) if picked.pts is not None else wanted
        if reached < wanted - LATE_FRAME_TOLERANCE:
            continue  # the stream ends (or is cut off) before this offset: no frame there
        frames.append(square_resize(picked.to_image(), size))
        start = stream.start_time or 0
        stamps.append(float((picked.pts - start) * base) if picked.pts is not None else wanted)
    return frames, stamps


def _decode_audio(path: Path, container, stream, limits: DecodeLimits | None = None,
                  watch: DecodeWatch | None = None) -> tuple[np.ndarray, int]:
    import av

    rate = int(stream.rate or stream.codec_context.sample_rate or 0)
    if rate <= 0:
        raise MediaError(path, "corrupt", "audio track has no sample rate")
    if limits is not None:
        # The audio track's own header, then every decoded frame: the video's duration said nothing
        # about how much sound the track really holds.
        limits.check_header(path, rate=rate, channels=stream_channels(stream),
                            seconds=header_seconds(container, stream), error=MediaError)
        counted = limits.watch(path, rate, error=MediaError)
        counted.deadline = watch.deadline if watch is not None else counted.deadline  # one budget per file
    else:
        counted = None
    chunks = []
    try:
        container.seek(0)
        for chunk in mono_chunks(container, stream, rate,
                                 on_frame=None if counted is None else lambda frame: counted.add(frame.samples)):
            chunks.append(chunk)
    except av.error.FFmpegError as exc:
        if not chunks:
            raise MediaError(path, "corrupt", f"audio track cannot be decoded: {exc}") from exc
        # A file truncated mid-stream still gives the audio before the damage; keep it.
    wave = np.concatenate(chunks).astype(np.float32, copy=False) if chunks else np.zeros(0, np.float32)
    return np.clip(wave, -1.0, 1.0), rate


def extract(path: str | os.PathLike, *, n_frames: int = 4, frame_size: int = 64,
            max_pixels: int = DEFAULT_MAX_PIXELS, max_seconds: float = DEFAULT_MAX_SECONDS,
            require_audio: bool = True, allow_silent: bool = False,
            limits: DecodeLimits | None = None) -> ExtractedMedia:
    """Frames and sound track of one video. Raises MediaError (see the module doc) for unusable input.

    `limits` (bytes, duration, the audio track's channels and rate, time per file) are checked from
    the headers before decoding and enforced while decoding; its max_seconds replaces max_seconds."""
    if frame_size < 8:
        raise ValueError(f"frame_size must be at least 8, got {frame_size}")
    path = Path(path)
    _check_file(path)
    watch = None
    if limits is not None:
        limits.check_size(path, path.stat().st_size, error=MediaError)
        max_seconds = limits.max_seconds
        watch = limits.watch(path, 1, error=MediaError)  # the time budget of the whole file
    if looks_like_text(path):  # before FFmpeg sees it: a text "video" may be a playlist (see audio.py)
        raise MediaError(path, "not_media", "is a text file, not a video")
    container = _open(path)
    with container:
        if not container.streams.video:
            what = "an audio-only file" if container.streams.audio else "no streams FFmpeg knows"
            raise MediaError(path, "no_video", f"has no video stream ({what})")
        video = container.streams.video[0]
        width, height = int(video.codec_context.width or 0), int(video.codec_context.height or 0)
        if width <= 0 or height <= 0:
            raise MediaError(path, "corrupt", "video stream has no frame size")
        if width * height > max_pixels:
            raise MediaError(path, "too_large", f"resolution {width}x{height} is above the limit of "
                                                f"{max_pixels:,} pixels; refused before decoding")
        if require_audio and not container.streams.audio:
            raise MediaError(path, "no_audio", "has no audio track")
        duration = header_seconds(container, video)
        if duration > max_seconds:
            raise MediaError(path, "too_long", f"lasts {duration:.0f} s, above the limit of {max_seconds:.0f} s")
        video.thread_type = "AUTO"  # frame-threaded decoding; safe because we only read
        frames, stamps = _decode_frames(path, container, video, frame_offsets(duration, n_frames), frame_size,
                                        watch)
        if not frames:
            raise MediaError(path, "no_frames", "no video frame could be decoded")
        audio, rate = (np.zeros(0, np.float32), 0)
        if container.streams.audio:
            audio, rate = _decode_audio(path, container, container.streams.audio[0], limits, watch)
        info = {"video_codec": video.codec_context.name, "width": width, "height": height,
                "fps": float(video.average_rate) if video.average_rate else None,
                "audio_codec": container.streams.audio[0].codec_context.name if container.streams.audio else None}
    if require_audio:
        if audio.size == 0:
            raise MediaError(path, "no_audio", "audio track holds no samples")
        peak = float(np.abs(audio).max())
        if not allow_silent and peak < SILENCE_PEAK:
            raise MediaError(path, "silent", f"sound track is silent (peak {peak:.1e} over "
                                             f"{audio.size / rate:.2f} s)")
    audio_seconds = audio.size / rate if rate else 0.0
    if len(frames) < n_frames or (require_audio and audio_seconds < 0.9 * duration - 0.5):
        # keep what decodes, but say so: the import records it with the file
        info["truncated"] = (f"only {len(frames)} of {n_frames} frames and {audio_seconds:.1f} s of "
                             f"{duration:.1f} s of sound could be decoded (file cut short or damaged)")
    return ExtractedMedia(frames, stamps, audio, rate, duration, width, height, info)


def split_segments(wave: np.ndarray, rate: int, seconds: float | None) -> list[tuple[float, np.ndarray]]:
    """(start second, piece) of ~`seconds` each; a short tail joins the previous piece rather than
    becoming a clip too short for SoundNet. None or 0 keeps the whole track as one piece."""
    if not seconds or wave.size <= seconds * rate * 1.5:
        return [(0.0, wave)]
    step = int(seconds * rate)
    starts = list(range(0, wave.size, step))
    if wave.size - starts[-1] < step // 2:
        starts.pop()
    bounds = starts[1:] + [wave.size]
    return [(start / rate, wave[start:end]) for start, end in zip(starts, bounds)]


def write_lossless(path: str | os.PathLike, wave: np.ndarray, rate: int) -> Path:
    """Store mono audio as FLAC (lossless, 24-bit) at its own rate; WAV when the name ends in .wav."""
    import soundfile

    path = Path(path)
    subtype = "PCM_24" if path.suffix.lower() in (".flac", ".wav") else None
    soundfile.write(str(path), np.asarray(wave, dtype=np.float32), int(rate), subtype=subtype)
    return path
