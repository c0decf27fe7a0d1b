"""Try it in headless Chromium against the live server and a real Celery worker: upload a WAV and the
image appears; move the volume slider and the seed and new images appear; record from the (fake)
microphone with MediaRecorder and the recording is used like a file."""
import numpy as np
import pytest
from PIL import Image

from gan.models import TrySound
from gan.services.try_sound import image_relative
from tests.browser import headless_chromium
from tests.gan.try_sound_helpers import train_tiny_checkpoint, write_tone

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True),
              pytest.mark.timeout(600)]

# a microphone that plays a beep, allowed without asking: MediaRecorder gets real sound
MICROPHONE_ARGS = ["--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream"]
FIRST_IMAGE_MS = 120_000  # the worker's first job imports torch and librosa
NEXT_IMAGE_MS = 60_000


@pytest.fixture
def browser(monkeypatch):
    with headless_chromium(monkeypatch, MICROPHONE_ARGS) as chromium:
        yield chromium


@pytest.fixture
def world(media_root, tmp_path, start_worker):
    checkpoint = train_tiny_checkpoint(tmp_path)
    worker = start_worker("try", queues="gpu", env={"MEDIA_ROOT": str(media_root)})
    return checkpoint, worker


def staff_page(browser, live_server, checkpoint):
    page = browser.new_page()
    page.goto(f"{live_server.url}/gan/try/?checkpoint={checkpoint.pk}")  # not logged in: the admin's login
    page.fill("#id_username", "staff")
    page.fill("#id_password", "staff-pass-123")
    page.click("input[type=submit]")
    page.wait_for_selector("#try")
    assert page.is_checked(f"#checkpoints input[value='{checkpoint.pk}']")
    return page


def wait_for_image(page, checkpoint, volume, seed, timeout, worker):
    selector = f"figure[data-checkpoint='{checkpoint.pk}'] img[data-volume='{volume}'][data-seed='{seed}']"
    try:
        page.wait_for_function("selector => { const img = document.querySelector(selector); "
                               "return img !== null && img.complete && img.naturalWidth === 32; }",
                               arg=selector, timeout=timeout)
    except Exception:
        raise AssertionError(f"no image for volume {volume}, seed {seed}; the page says "
                             f"{page.inner_text('#status')!r}\nworker log:\n{worker.log()[-3000:]}")
    assert page.inner_text("#status") == "Done."
    return page.get_attribute(selector, "src")


def pixels(media_root, relative):
    return np.asarray(Image.open(media_root / relative)).astype(int)


def test_upload_a_wav_see_the_image_then_move_the_volume_and_the_seed(browser, live_server, staff_user, world,
                                                                     media_root, tmp_path):
    checkpoint, worker = world
    page = staff_page(browser, live_server, checkpoint)
    page.set_input_files("#sound-file", str(write_tone(tmp_path / "my sound.wav", freq=660, seconds=0.5,
                                                       noise=0.01)))
    first = wait_for_image(page, checkpoint, 1, 0, FIRST_IMAGE_MS, worker)
    sound = TrySound.objects.get()
    assert page.inner_text("#sound-name") == "my sound.wav (0.5 s, WAV)"
    assert first == f"/gan/media/{image_relative(sound.pk, checkpoint.pk, 1.0, 0)}"

    page.focus("#volume")
    page.keyboard.press("PageUp")  # one step of a tenth of the slider: 10 ** 0.2 = 1.58x
    assert page.inner_text("#volume-value") == "1.58x"
    louder = wait_for_image(page, checkpoint, 1.58, 0, NEXT_IMAGE_MS, worker)
    assert louder == f"/gan/media/{image_relative(sound.pk, checkpoint.pk, 1.58, 0)}"
    assert np.abs(pixels(media_root, image_relative(sound.pk, checkpoint.pk, 1.58, 0))
                  - pixels(media_root, image_relative(sound.pk, checkpoint.pk, 1.0, 0))).sum() > 0

    page.fill("#seed", "5")
    page.press("#seed", "Enter")
    wait_for_image(page, checkpoint, 1.58, 5, NEXT_IMAGE_MS, worker)
    assert np.abs(pixels(media_root, image_relative(sound.pk, checkpoint.pk, 1.58, 5))
                  - pixels(media_root, image_relative(sound.pk, checkpoint.pk, 1.58, 0))).sum() > 0

    page.keyboard.press("Tab")  # back to where it was: the image exists, so no job, at once
    page.focus("#volume")
    page.keyboard.press("PageDown")
    wait_for_image(page, checkpoint, 1, 5, NEXT_IMAGE_MS, worker)
    page.fill("#seed", "0")
    page.press("#seed", "Enter")
    assert wait_for_image(page, checkpoint, 1, 0, 10_000, worker) == first
    assert TrySound.objects.count() == 1  # every request reused the one stored sound


def test_a_bad_file_shows_the_reason_and_stores_nothing(browser, live_server, staff_user, world, tmp_path):
    checkpoint, worker = world
    page = staff_page(browser, live_server, checkpoint)
    silent = write_tone(tmp_path / "silent.wav", amplitude=0.0)
    page.set_input_files("#sound-file", str(silent))
    page.wait_for_selector("#status.error")
    assert page.inner_text("#status") == ("Not used: the sound is silent (peak amplitude 0.0e+00, below 0.0001)")
    assert TrySound.objects.count() == 0 and page.query_selector("#images figure") is None


def test_record_from_the_microphone_and_see_the_image(browser, live_server, staff_user, world):
    checkpoint, worker = world
    page = staff_page(browser, live_server, checkpoint)
    page.click("#record")
    page.wait_for_selector("#record.recording")
    page.wait_for_timeout(1500)
    page.click("#record")  # stop: the recording is uploaded like a file
    wait_for_image(page, checkpoint, 1, 0, FIRST_IMAGE_MS, worker)
    sound = TrySound.objects.get()
    assert sound.audio_format in ("matroska,webm", "ogg") and 1.0 < sound.duration_s < 3.0
    assert page.inner_text("#sound-name").startswith("recording.")
