"""What an import may read and what it may store: every path a manifest, folder or archive names stays
inside its source folder (symbolic links included), and every text that reaches the database fits
its column on every database (no NUL, which PostgreSQL refuses; no undecodable bytes; no more
characters than the column holds). Pure (no Django), so it is easy to test against every trick.
"""
from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

# Longest column each value goes to (gan/models): ImportRecord.source, Pair.label, Pair.group.
SOURCE_MAX, LABEL_MAX, GROUP_MAX = 500, 100, 200
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


class SourceError(ValueError):
    """One source (a manifest row, a file in a folder) cannot be imported; `code` is its kind."""

    def __init__(self, code: str, message: str):
        self.code = code
        super().__init__(message)


def printable(value: str, limit: int = 120) -> str:
    """A user-given value as it can be shown and stored: control characters (NUL included) and
    bytes that were not UTF-8 written as escapes, cut to `limit` characters with an ellipsis."""
    text = str(value).encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    text = _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)
    return text if len(text) <= limit else text[:limit - 1] + "…"


def fitted(value: str, limit: int) -> str:
    """A derived key (a source path, a default group) that fits its column: printable, and when too
    long the start kept with a hash of the whole, so two long keys never collide."""
    text = printable(value, limit=10**9)
    if len(text) <= limit:
        return text
    digest = hashlib.sha1(text.encode()).hexdigest()[:12]
    return f"{text[:limit - 13]}~{digest}"


def check_cell(value: str | None, column: str, limit: int | None = None) -> str:
    """A manifest cell that may be stored as given: text, no NUL or other control character, no
    bytes that were not UTF-8, at most `limit` characters. Raises SourceError naming the column."""
    value = (value or "").strip()
    if "\x00" in value:
        raise SourceError("broken_row", f"the {column} column contains a NUL byte")
    if any("\udc80" <= ch <= "\udcff" for ch in value):
        bad = next(ord(ch) - 0xdc00 for ch in value if "\udc80" <= ch <= "\udcff")
        raise SourceError("bad_encoding", f"the {column} column is not UTF-8 text (byte 0x{bad:02x}, e.g. a "
                                          f"Latin-1 accent); save the manifest as UTF-8")
    if _CONTROL.search(value):
        raise SourceError("broken_row", f"the {column} column contains a control character")
    if limit is not None and len(value) > limit:
        raise SourceError("too_long", f"the {column} column has {len(value)} characters; at most {limit} are allowed")
    return value


def resolve_inside(folder: Path, value: str, column: str) -> Path:
    """The real path of a file a manifest names (relative to its folder, or absolute), when that
    file, after following every symbolic link, is a regular file inside the folder."""
    value = check_cell(value, column)
    if not value:
        raise SourceError("broken_row", f"empty {column} column")
    root = folder.resolve()
    candidate = Path(value) if os.path.isabs(value) else root / value
    real = candidate.resolve()
    if not real.is_relative_to(root):
        how = "a symbolic link that leads" if candidate.is_symlink() or real != Path(os.path.normpath(candidate)) \
            else "a path"
        raise SourceError("outside_folder", f"{column} {printable(value, 80)!r} is {how} outside the manifest's "
                                            f"folder; only files inside it are imported")
    if not real.is_file():
        what = "does not exist" if not real.exists() else "is not a regular file"
        raise SourceError("missing_file", f"{column} file {printable(value, 80)!r} {what}")
    return real


def contained_file(folder: Path, path: Path) -> Path:
    """The real path of a file found in an import folder; SourceError when a symbolic link (of the
    file or of a folder on its way) leads outside the folder. The target is not named: it is none
    of the import's business, and its content is never read."""
    real = path.resolve()
    if not real.is_relative_to(folder.resolve()):
        raise SourceError("outside_folder", "is a symbolic link that leads outside the import folder; not followed")
    return real


def safe_name(relative: str) -> str:
    """A flat, unique folder or file name for a source path (readable prefix + hash of the full path)."""
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", printable(relative, 10**9))[-60:].strip("._") or "file"
    digest = hashlib.sha1(relative.encode("utf-8", "surrogateescape")).hexdigest()[:8]
    return f"{stem}-{digest}"


# The extension a stored file gets, from what its decoder recognised (never from the name it came
# with: a file that decodes as a picture and is also HTML must not be stored as .html).
IMAGE_SUFFIXES = {"PNG": ".png", "JPEG": ".jpg", "GIF": ".gif", "BMP": ".bmp", "WEBP": ".webp", "TIFF": ".tif",
                  "PPM": ".ppm", "TGA": ".tga"}
AUDIO_SUFFIXES = {"WAV": ".wav", "WAVEX": ".wav", "FLAC": ".flac", "OGG": ".ogg", "MP3": ".mp3", "AIFF": ".aiff",
                  "wav": ".wav", "flac": ".flac", "ogg": ".ogg", "mp3": ".mp3", "aiff": ".aiff",
                  "matroska,webm": ".webm", "mov,mp4,m4a,3gp,3g2,mj2": ".m4a", "aac": ".aac"}


def decoded_suffix(path: Path, kind: str) -> str:
    """The extension for a file that already decoded as `kind` ("image" or "sound"): the format
    Pillow, libsndfile or FFmpeg found in its bytes; ".bin" for a format not in our table.
    The decoders are imported here, by the import job, not by every web process that loads this module."""
    import av
    import soundfile
    from PIL import Image

    if kind == "image":
        with Image.open(path) as image:
            return IMAGE_SUFFIXES.get(image.format or "", ".bin")
    try:
        return AUDIO_SUFFIXES.get(soundfile.info(str(path)).format, ".bin")
    except (soundfile.LibsndfileError, RuntimeError):  # not libsndfile's: FFmpeg decoded it
        with av.open(str(path)) as container:
            return AUDIO_SUFFIXES.get(container.format.name, ".bin")


def content_name(path: Path) -> str:
    """A generated file name for a file's bytes (SHA-256, 32 hex digits): nothing of the name it
    came with is kept, and the same bytes imported twice are stored once."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()[:32]
