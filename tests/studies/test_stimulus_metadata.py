"""Stimuli without tells: real photos (practice and catch trials) come with an ICC profile, EXIF and
text chunks; generated images (main trials) with none. Every picture a rater is served, whatever its
trial's role, is a PNG with nothing but its pixels: the same chunks, no profile, no EXIF, no text."""
import io
import struct

import pytest
from django.core.files.storage import default_storage
from PIL import Image, ImageCms, PngImagePlugin

from studies.services import build_correlation_study, build_rating_study, open_study

from .helpers import join, state

pytestmark = pytest.mark.django_db


def png_chunks(data: bytes) -> list[str]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    chunks, at = [], 8
    while at < len(data):
        length, kind = struct.unpack(">I4s", data[at:at + 8])
        chunks.append(kind.decode())
        at += 12 + length
    return chunks


def give_photos_metadata(world) -> None:
    """Rewrite every real photo as a camera would leave it: ICC profile, EXIF (orientation 6: rotate) and text."""
    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    for pair in world["pairs"]:
        path = default_storage.path(pair.image.name)
        with Image.open(path) as image:
            pixels = image.convert("RGB")
        exif = pixels.getexif()
        exif[0x010F], exif[0x0112] = "SecretCam", 6
        text = PngImagePlugin.PngInfo()
        text.add_text("Comment", "real photo of a tromboneclass")
        pixels.save(path, format="PNG", icc_profile=profile, exif=exif, pnginfo=text)
        with Image.open(path) as check:
            assert {"icc_profile", "exif", "Comment"} <= set(check.info)


def served_images(client, study) -> dict[str, list[bytes]]:
    rater = join(client, study)
    by_role = {"practice": [], "other": []}
    for trial in state(client, rater)["trials"]:
        for key in ("image_url", "left_image_url", "right_image_url"):
            if key in trial:
                response = client.get(trial[key])
                assert response.status_code == 200
                by_role["practice" if trial["practice"] else "other"].append(b"".join(response.streaming_content))
    return by_role


@pytest.mark.parametrize("kind", ["rating", "correlation"])
def test_every_stimulus_is_bare_srgb_pixels_whatever_its_role(client, world, kind):
    give_photos_metadata(world)
    if kind == "rating":
        study = build_rating_study("meta", world["checkpoints"], target_votes=5, catch_trials=1, practice_trials=1,
                                   require_full_playback=False)
    else:
        study = build_correlation_study("meta", world["checkpoints"][0], target_votes=5, catch_trials=1,
                                        practice_trials=1, require_full_playback=False)
    images = served_images(client, open_study(study))
    assert images["practice"] and images["other"]  # the photos are among them
    signatures = set()
    for data in images["practice"] + images["other"]:
        chunks = png_chunks(data)
        assert set(chunks) == {"IHDR", "IDAT", "IEND"}, chunks  # no iCCP, eXIf, tEXt, pHYs...
        with Image.open(io.BytesIO(data)) as image:
            assert image.info == {} and image.mode == "RGB"
            signatures.add((image.size, image.mode, tuple(dict.fromkeys(chunks))))
    assert len(signatures) == 1  # nothing tells a practice or catch picture from a main one
