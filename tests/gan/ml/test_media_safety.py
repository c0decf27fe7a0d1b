"""Files a stranger hands the import: pixel bombs refused from the header, playlists that make FFmpeg
read files elsewhere on the disk, and error messages that never quote a file's content."""
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from gan.ml.audio import AudioError, load_audio
from gan.ml.media import DEFAULT_MAX_PIXELS, MediaError, check_image, extract, open_image
from tests.gan.media_fixtures import STAMPS, ffmpeg, make_video, needs_media_tools


def pixel_bomb(path, side=12000):
    """A 12000x12000 PNG of about 20 kB (1-bit, all white): 144 Mpx, 576 MB as RGBA once decoded."""
    Image.new("1", (side, side), 1).save(path, optimize=True)
    return path


def test_a_pixel_bomb_is_refused_from_its_header_before_any_decoding(tmp_path, monkeypatch):
    bomb = pixel_bomb(tmp_path / "bomb.png")
    assert bomb.stat().st_size < 200_000
    decoded = []
    monkeypatch.setattr(Image.Image, "load", lambda self: decoded.append(self) or None)
    with pytest.raises(MediaError, match=r"12000x12000 is above the limit of 33,177,600 pixels") as caught:
        check_image(bomb)
    assert caught.value.code == "too_large" and decoded == []


def test_the_cap_is_the_video_cap_and_can_be_lowered(tmp_path):
    picture = tmp_path / "p.png"
    Image.new("RGB", (300, 200), "red").save(picture)
    assert check_image(picture) == (300, 200)
    with pytest.raises(MediaError, match="300x200 is above the limit of 50,000"):
        check_image(picture, max_pixels=50_000)
    assert DEFAULT_MAX_PIXELS == 7680 * 4320  # 8K: the same number extract() applies to video frames


def test_bomb_check_costs_no_memory(tmp_path):
    """Measured in a fresh process: peak resident memory (VmHWM, reset by exec) while refusing the
    bomb vs while decoding it as the cleaning job used to."""
    bomb = pixel_bomb(tmp_path / "bomb.png")
    script = ("import re, sys\nfrom PIL import Image\nImage.MAX_IMAGE_PIXELS = None\n"
              "from gan.ml.media import check_image, MediaError\n"
              "peak = lambda: int(re.search(r'VmHWM:\\s+(\\d+)', open('/proc/self/status').read()).group(1))\n"
              "before = peak()\n"
              "try:\n    check_image(sys.argv[1]) if sys.argv[2] == 'check' else Image.open(sys.argv[1]).convert('RGBA')\n"
              "except MediaError:\n    pass\n"
              "print(peak() - before)\n")
    grown = {mode: int(subprocess.run([sys.executable, "-c", script, str(bomb), mode], capture_output=True,
                                      text=True, check=True).stdout) for mode in ("check", "decode")}
    assert grown["check"] < 20_000  # kB: nothing was decoded
    assert grown["decode"] > 500_000  # what the check saves (576 MB of RGBA)


def test_a_truncated_or_fake_image_is_named_not_quoted(tmp_path):
    good = tmp_path / "good.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (64, 64, 3), np.uint8)).save(good)
    (tmp_path / "cut.png").write_bytes(good.read_bytes()[:-200])
    (tmp_path / "fake.png").write_text("root:x:0:0:root:/root:/bin/bash\n")
    with pytest.raises(MediaError, match="cannot be decoded") as cut:
        check_image(tmp_path / "cut.png")
    with pytest.raises(MediaError, match="not a readable image") as fake:
        check_image(tmp_path / "fake.png")
    assert cut.value.code == fake.value.code == "bad_image"
    assert "root:" not in str(fake.value)
    with open_image(good) as image:
        assert image.size == (64, 64)


def test_a_text_file_named_like_a_video_is_not_quoted(tmp_path):
    fake = tmp_path / "passwd.mp4"
    fake.write_text("root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n")
    with pytest.raises(MediaError, match="is a text file, not a video") as caught:
        extract(fake)
    assert caught.value.code == "not_media" and "root" not in str(caught.value).replace(str(fake), "")


@needs_media_tools
@pytest.mark.parametrize("junk", [b"", b"#\x01\x02\x03\xff\xfe" + bytes(range(0x80, 0x9b)) + b"\n"])
def test_an_hls_playlist_cannot_make_ffmpeg_read_a_file_outside_its_folder(tmp_path, junk):
    """FFmpeg plays a .m3u8 file as HLS and decodes the segments it names, wherever they are; a few
    binary bytes after #EXTM3U get past a text check, so only the demuxer whitelist stops it."""
    secret = tmp_path / "elsewhere" / "secret.ts"
    make_video(secret.with_suffix(".mp4"), "animals/mammals/dogs/dog", "animals/mammals/dogs/dog", seconds=2)
    ffmpeg("-i", str(secret.with_suffix(".mp4")), "-c", "copy", str(secret))
    folder = tmp_path / "upload"
    folder.mkdir()
    playlist = (b"#EXTM3U\n" + junk + b"#EXT-X-TARGETDURATION:10\n#EXTINF:2.0,\n../elsewhere/secret.ts\n"
                b"#EXT-X-ENDLIST\n")
    for name in ("clip.m3u8", "clip.mp4"):
        (folder / name).write_bytes(playlist)
        with pytest.raises(AudioError):
            load_audio(folder / name)
        with pytest.raises(MediaError) as caught:
            extract(folder / name)
        assert caught.value.code in ("not_media", "corrupt")
    assert load_audio(secret)[0].size > 0  # the same segment opened directly is a good sound


@needs_media_tools
def test_ordinary_containers_still_open(tmp_path):
    for suffix in (".mp4", ".mkv", ".webm", ".avi"):
        args = ("-c:v", "libvpx", "-c:a", "libvorbis") if suffix == ".webm" else ()
        video = tmp_path / f"v{suffix}"
        if suffix == ".webm":
            ffmpeg("-i", str(make_video(tmp_path / "src.mp4", "animals/mammals/dogs/dog",
                                        "animals/mammals/dogs/dog", seconds=1)), *args, str(video))
        else:
            make_video(video, "animals/mammals/dogs/dog", "animals/mammals/dogs/dog", seconds=1)
        assert len(extract(video, n_frames=1).frames) == 1
    assert load_audio(STAMPS / "animals/mammals/dogs/dog.ogg")[0].size > 0
