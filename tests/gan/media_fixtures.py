"""Test videos made here with the ffmpeg command line from the Tux Paint stamps' real photos and real
recordings, plus the bad inputs the import must survive (each a real file of that kind)."""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

STAMPS = Path("/usr/share/tuxpaint/stamps")
needs_media_tools = pytest.mark.skipif(not STAMPS.is_dir() or shutil.which("ffmpeg") is None,
                                       reason="needs ffmpeg and tuxpaint-stamps-default")

# Stamps in four classes that a small class map can name (see CLASS_MAP): the photo and the recording
# of each are of the same thing.
STAMP_CLASS = {
    "animals/mammals/dogs/dog": "canine", "animals/mammals/dogs/fox": "canine",
    "hobbies/music/string/violin": "strings", "hobbies/music/string/cello": "strings",
    "animals/birds/hen": "bird", "animals/birds/blackbird": "bird", "animals/birds/crow": "bird",
    "hobbies/music/percussion/drumkit": "drum",
}
CLASS_MAP = {
    "canine": list(range(151, 281)),  # dog breeds, wolves, foxes
    "bird": list(range(7, 25)) + list(range(80, 101)) + list(range(127, 147)),
    "strings": ["violin", "cello", "acoustic guitar", "electric guitar"],
    "drum": ["drum", "steel drum"],
}
# Mismatched pairs: each photo with the recording two places on (always another class).
ORDER = ["animals/mammals/dogs/fox", "hobbies/music/string/violin", "animals/birds/hen",
         "hobbies/music/percussion/drumkit", "animals/mammals/dogs/dog", "hobbies/music/string/cello",
         "animals/birds/blackbird", "animals/birds/crow"]
MISMATCHED = [(ORDER[i], ORDER[(i + 2) % len(ORDER)]) for i in range(len(ORDER))]


def ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-v", "error", "-nostdin", "-y", *args], check=True, timeout=120)


def make_video(out: Path, picture: str, sound: str | None, *, seconds: float = 3.0,
               size: tuple[int, int] = (320, 240), fps: int = 10, container_args: tuple = ()) -> Path:
    """`seconds` of the stamp photo (on white, fitted into `size`) with its recording looped under it;
    sound=None makes a video with no audio track."""
    out.parent.mkdir(parents=True, exist_ok=True)
    width, height = size
    args = ["-f", "lavfi", "-i", f"color=c=white:s={width}x{height}:r={fps}:d={seconds}",
            "-i", str(STAMPS / f"{picture}.png")]
    if sound is not None:
        args += ["-stream_loop", "-1", "-i", str(STAMPS / f"{sound}.ogg")]
    scale = f"[1:v]scale={width}:{height}:force_original_aspect_ratio=decrease[s]"
    args += ["-filter_complex", f"{scale};[0:v][s]overlay=(W-w)/2:(H-h)/2:format=auto,format=yuv420p[v]",
             "-map", "[v]", "-c:v", "libx264", "-preset", "ultrafast", "-t", str(seconds)]
    if sound is not None:
        args += ["-map", "2:a", "-c:a", "aac", "-b:a", "96k"]
    ffmpeg(*args, *container_args, str(out))
    return out


def make_test_videos(folder: Path, *, mismatched: bool = True, seconds: float = 3.0) -> dict[str, dict]:
    """Matched videos under matched/<class>/, mismatched under mismatched/<picture class>/.
    Returns {relative path: {"matched": bool, "picture": .., "sound": ..}}."""
    made = {}
    for stamp in ORDER:
        name = f"matched/{STAMP_CLASS[stamp]}/{Path(stamp).name}.mp4"
        make_video(folder / name, stamp, stamp, seconds=seconds)
        made[name] = {"matched": True, "picture": stamp, "sound": stamp}
    if mismatched:
        for picture, sound in MISMATCHED:
            name = f"mismatched/{STAMP_CLASS[picture]}/{Path(picture).name}-with-{Path(sound).name}.mp4"
            make_video(folder / name, picture, sound, seconds=seconds)
            made[name] = {"matched": False, "picture": picture, "sound": sound}
    return made


def make_bad_inputs(folder: Path) -> dict[str, str]:
    """One real file per bad case; returns {relative path: the MediaError code expected}."""
    folder.mkdir(parents=True, exist_ok=True)
    good = make_video(folder / "_tmp_good.mp4", "animals/mammals/dogs/dog", "animals/mammals/dogs/dog", seconds=2)
    data = good.read_bytes()
    good.unlink()
    # corrupt: a real video whose container header was overwritten with noise
    (folder / "corrupt.mp4").write_bytes(os.urandom(4096) + data[4096:])
    make_video(folder / "no_audio.mp4", "animals/mammals/dogs/dog", None, seconds=2)
    ffmpeg("-i", str(STAMPS / "animals/mammals/dogs/dog.ogg"), "-vn", "-c:a", "aac", str(folder / "audio_only.mp4"))
    (folder / "zero_length.mp4").write_bytes(b"")
    (folder / "notes.mp4").write_text("These are my notes about the videos, not a video at all.\n")
    # enormous: one 9000x9000 frame (81 Mpx, above the 33 Mpx limit) with a sound track; MJPEG keeps
    # the file small, and the import must refuse it from the header without decoding the frame.
    ffmpeg("-f", "lavfi", "-i", "color=c=gray:s=9000x9000:r=1:d=1", "-i", str(STAMPS / "animals/mammals/dogs/dog.ogg"),
           "-map", "0:v", "-map", "1:a", "-c:v", "mjpeg", "-q:v", "31", "-c:a", "aac", "-shortest",
           str(folder / "enormous.mkv"))
    return {"corrupt.mp4": "corrupt", "no_audio.mp4": "no_audio", "audio_only.mp4": "no_video",
            "zero_length.mp4": "zero_length", "notes.mp4": "not_media", "enormous.mkv": "too_large"}
