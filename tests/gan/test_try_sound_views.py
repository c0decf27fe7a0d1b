"""The Try it page's endpoints: staff only, CSRF-protected, a sound stored once, and every bad input
(not audio, silence, a 1-hour file, a 100 MB upload, wrong checkpoints, volume, seed) a clear 4xx
with one message and nothing stored: no sound row, no file under MEDIA_ROOT, no job."""
import io

import numpy as np
import pytest
import soundfile as sf
from django.test import Client

from gan import try_sound_views
from gan.models import Checkpoint, Dataset, TrainingRun, TrySound
from gan.services.try_sound import MAX_CHECKPOINTS, image_relative
from jobs.models import Job
from tests.gan.try_sound_helpers import write_tone, write_webm

pytestmark = pytest.mark.django_db

UPLOAD, IMAGES, PAGE = "/gan/try/sounds/", "/gan/try/images/", "/gan/try/"


def wav_bytes(seconds=0.5, amplitude=0.3, rate=16000) -> bytes:
    buffer = io.BytesIO()
    t = np.arange(int(seconds * rate)) / rate
    sf.write(buffer, (amplitude * np.sin(2 * np.pi * 440 * t)).astype(np.float32), rate, format="WAV")
    return buffer.getvalue()


def as_upload(data: bytes, name="take.wav"):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, data)


def stored_files(media_root) -> list:
    return sorted(p.relative_to(media_root) for p in media_root.rglob("*") if p.is_file())


@pytest.fixture
def staff(client, staff_user):
    client.force_login(staff_user)
    return client


@pytest.fixture
def checkpoint(media_root):
    dataset = Dataset.objects.create(name="tones", source="test", root="tones", class_names=["low", "high"])
    run = TrainingRun.objects.create(name="tiny", dataset=dataset, variant="g", feature_spec={"kind": "mfcc"})
    ckpt = Checkpoint.objects.create(run=run, step=40, path="runs/1/checkpoints/step_00000040.pt", is_final=True)
    (media_root / ckpt.path).parent.mkdir(parents=True)
    (media_root / ckpt.path).write_bytes(b"weights")
    return ckpt


@pytest.fixture
def sound(staff, media_root):
    response = staff.post(UPLOAD, {"sound": as_upload(wav_bytes())})
    assert response.status_code == 201, response.content
    return TrySound.objects.get(pk=response.json()["sound"]["id"])


def test_the_page_lists_results_and_the_asked_checkpoint_checked(staff, checkpoint):
    other = Checkpoint.objects.create(run=checkpoint.run, step=20, path="runs/1/checkpoints/step_00000020.pt")
    page = staff.get(PAGE, {"checkpoint": other.pk})
    assert page.status_code == 200
    html = page.content.decode()
    assert f'value="{other.pk}" checked' in html and f'value="{checkpoint.pk}">' in html
    assert "run #%d tiny · tones · row g · mfcc · step 40 (result)" % checkpoint.run_id in html
    assert 'src="/static/gan/try_sound.js"' in html and "csrfmiddlewaretoken" in html
    assert f'value="{checkpoint.pk}" checked' in staff.get(PAGE).content.decode()  # default: the newest result


def test_the_page_sends_others_to_the_login(client, plain_user):
    assert client.get(PAGE).status_code == 302 and "/admin/login/" in client.get(PAGE)["Location"]
    client.force_login(plain_user)
    assert client.get(PAGE).status_code == 302


def test_an_upload_is_stored_once_and_served_to_staff(staff, media_root, staff_user):
    data = wav_bytes()
    first = staff.post(UPLOAD, {"sound": as_upload(data, "take 1.wav")})
    assert first.status_code == 201
    body = first.json()["sound"]
    assert body["name"] == "take 1.wav" and body["format"] == "WAV" and body["sample_rate"] == 16000
    assert body["duration_s"] == 0.5
    again = staff.post(UPLOAD, {"sound": as_upload(data, "same bytes.wav")})
    assert again.status_code == 200 and again.json()["sound"]["id"] == body["id"]
    assert TrySound.objects.count() == 1 and len(stored_files(media_root)) == 1
    assert TrySound.objects.get().uploaded_by == staff_user
    served = staff.get(body["url"])
    assert served.status_code == 200 and b"".join(served.streaming_content) == data


def test_a_browser_recording_is_accepted_like_a_file(staff, tmp_path):
    data = write_webm(tmp_path / "recording.webm", seconds=1.5).read_bytes()
    response = staff.post(UPLOAD, {"sound": as_upload(data, "recording.webm")})
    assert response.status_code == 201, response.content
    sound = response.json()["sound"]
    assert sound["format"] == "matroska,webm" and sound["url"].endswith(".webm")


def bad_sounds(tmp_path) -> dict:
    return {
        "text": (b"sound,image\na.wav,a.png\n", 400, "the file is text, not a sound"),
        "random bytes": (bytes(np.random.default_rng(0).integers(0, 256, 5000, dtype=np.uint8)), 400,
                         "the file is not a sound this platform can read"),
        "silence": (wav_bytes(amplitude=0.0), 400, "the sound is silent (peak amplitude 0.0e+00, below 0.0001)"),
        "one hour": (write_tone(tmp_path / "hour.wav", seconds=3600, rate=1000, freq=100,
                                subtype="PCM_U8").read_bytes(), 400,
                     "a sound may be at most 30 s; this one is 3600.0 s long"),
        "empty": (b"", 400, "the file is empty (0 bytes)"),
        "21 MB": (b"\0" * (21 * 1024 * 1024), 413, "the upload is 21.0 MB; a sound may be at most 20.0 MB"),
    }


@pytest.mark.parametrize("case", ["text", "random bytes", "silence", "one hour", "empty", "21 MB"])
def test_a_bad_sound_is_a_clear_4xx_and_stores_nothing(staff, media_root, tmp_path, case):
    data, status, message = bad_sounds(tmp_path)[case]
    response = staff.post(UPLOAD, {"sound": as_upload(data)})
    assert response.status_code == status
    assert response.json()["error"].startswith(message), response.json()
    assert TrySound.objects.count() == 0 and stored_files(media_root) == [] and Job.objects.count() == 0


def test_a_100_mb_body_is_refused_before_it_is_read(staff, media_root):
    """The test client's body is a few bytes that claim to be 100 MB: had the view read the body, the
    client would fail with "Cannot read more than the available bytes"."""
    response = staff.post(UPLOAD, b"--x--", content_type="multipart/form-data; boundary=x",
                          CONTENT_LENGTH=str(100 * 1024 * 1024))
    assert response.status_code == 413
    assert response.json() == {"error": "the upload is 100.0 MB; a sound may be at most 20.0 MB"}
    assert TrySound.objects.count() == 0 and stored_files(media_root) == []


def test_a_body_larger_than_its_content_length_says_stops_at_the_cap(staff, media_root, monkeypatch):
    """A client sending no or a wrong Content-Length: the upload handler stops reading at the cap."""
    monkeypatch.setattr(try_sound_views, "MAX_UPLOAD_BYTES", 4000)
    response = staff.post(UPLOAD, {"sound": as_upload(wav_bytes(seconds=0.5))})  # 16 kB of sound
    assert response.status_code == 413
    assert response.json() == {"error": "the upload is over 20.0 MB; a sound may be at most 20.0 MB"}
    assert TrySound.objects.count() == 0 and stored_files(media_root) == []


def test_an_upload_without_a_sound_field_or_by_get_is_refused(staff, media_root):
    response = staff.post(UPLOAD, {"file": as_upload(wav_bytes())})
    assert response.status_code == 400
    assert response.json() == {"error": "no sound: send the file as the multipart form field 'sound'"}
    assert staff.get(UPLOAD).status_code == 405
    assert TrySound.objects.count() == 0 and stored_files(media_root) == []


def test_uploads_are_staff_only_and_need_the_csrf_token(client, plain_user, staff_user, media_root):
    assert client.post(UPLOAD, {"sound": as_upload(wav_bytes())}).status_code == 403
    client.force_login(plain_user)
    response = client.post(UPLOAD, {"sound": as_upload(wav_bytes())})
    assert response.status_code == 403 and response.json() == {"error": "staff login required"}
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(staff_user)
    assert strict.post(UPLOAD, {"sound": as_upload(wav_bytes())}).status_code == 403  # no token
    assert strict.post(IMAGES, {"sound": "1", "checkpoint": "1"}).status_code == 403
    assert TrySound.objects.count() == 0 and stored_files(media_root) == []
    token = strict.get(PAGE).context["csrf_token"]
    response = strict.post(UPLOAD, {"sound": as_upload(wav_bytes())}, headers={"X-CSRFToken": str(token)})
    assert response.status_code == 201


BAD_REQUESTS = [
    ({"sound": ""}, "sound must be the id of an uploaded sound: upload one first"),
    ({"sound": "abc"}, "sound must be the id of an uploaded sound: upload one first"),
    ({"sound": "999"}, "sound 999 does not exist: upload it again"),
    ({"checkpoint": []}, "choose at least one checkpoint"),
    ({"checkpoint": ["x"]}, "checkpoint ids must be whole numbers, not 'x'"),
    ({"checkpoint": ["-3"]}, "checkpoint ids must be whole numbers, not '-3'"),
    ({"checkpoint": ["9999"]}, "checkpoint 9999 does not exist"),
    ({"checkpoint": ["9998,9999"]}, "checkpoints 9998, 9999 do not exist"),
    ({"checkpoint": [str(i) for i in range(1, MAX_CHECKPOINTS + 2)]}, "at most 8 checkpoints at a time; got 9"),
    ({"volume": "0"}, "volume must be in (0, 10] (at least 0.01); got 0"),
    ({"volume": "-1"}, "volume must be in (0, 10] (at least 0.01); got -1"),
    ({"volume": "10.5"}, "volume must be in (0, 10] (at least 0.01); got 10.5"),
    ({"volume": "0.001"}, "volume must be in (0, 10] (at least 0.01); got 0.001"),
    ({"volume": "nan"}, "volume must be in (0, 10] (at least 0.01); got nan"),
    ({"volume": "inf"}, "volume must be in (0, 10] (at least 0.01); got inf"),
    ({"volume": "loud"}, "volume must be a number in (0, 10], not 'loud'"),
    ({"seed": "-1"}, "seed must be a whole number from 0 to 4294967295, not '-1'"),
    ({"seed": "1.5"}, "seed must be a whole number from 0 to 4294967295, not '1.5'"),
    ({"seed": "abc"}, "seed must be a whole number from 0 to 4294967295, not 'abc'"),
    ({"seed": str(2 ** 32)}, "seed must be a whole number from 0 to 4294967295, not '4294967296'"),
]


@pytest.mark.parametrize("method", ["post", "get"])
@pytest.mark.parametrize("change, message", BAD_REQUESTS)
def test_a_bad_image_request_is_a_400_with_one_message_and_no_job(staff, sound, checkpoint, media_root,
                                                                   method, change, message):
    data = {"sound": str(sound.pk), "checkpoint": [str(checkpoint.pk)], "volume": "1", "seed": "0", **change}
    files_before = stored_files(media_root)
    response = getattr(staff, method)(IMAGES, data)
    assert response.status_code == 400
    assert response.json() == {"error": message}
    assert Job.objects.count() == 0 and stored_files(media_root) == files_before


def test_a_checkpoint_whose_file_is_gone_is_refused(staff, sound, checkpoint, media_root):
    (media_root / checkpoint.path).unlink()
    response = staff.post(IMAGES, {"sound": sound.pk, "checkpoint": checkpoint.pk})
    assert response.status_code == 400
    assert response.json() == {"error": f"the file of checkpoint {checkpoint.pk} is missing from MEDIA_ROOT"}


def test_missing_images_start_one_job_and_existing_ones_are_served_from_disk(staff, sound, checkpoint, media_root,
                                                                            staff_user):
    second = Checkpoint.objects.create(run=checkpoint.run, step=20, path=checkpoint.path)
    ask = {"sound": sound.pk, "checkpoint": [checkpoint.pk, second.pk], "volume": "1.999", "seed": "7"}
    response = staff.post(IMAGES, ask)
    assert response.status_code == 202
    body = response.json()
    job = Job.objects.get()
    assert body["job"] == {"id": job.pk, "status": "queued"} and body["volume"] == 2.0 and body["seed"] == 7
    assert [(i["checkpoint"], i["url"]) for i in body["images"]] == [(checkpoint.pk, None), (second.pk, None)]
    assert job.kind == "try_sound" and job.queue == "gpu" and job.launched_by == staff_user
    assert job.params == {"sound_id": sound.pk, "checkpoint_ids": [checkpoint.pk, second.pk], "volumes": [2.0],
                          "seeds": [7], "clip": True}
    assert staff.post(IMAGES, ask).json()["job"]["id"] == job.pk  # asked again while queued: the same job
    # the first image is made: only the second is missing, and reading changes nothing
    made = media_root / image_relative(sound.pk, checkpoint.pk, 2.0, 7)
    made.parent.mkdir(parents=True)
    made.write_bytes(b"\x89PNG")
    read = staff.get(IMAGES, ask).json()
    assert read["job"] is None
    assert read["images"][0]["url"] == f"/gan/media/{image_relative(sound.pk, checkpoint.pk, 2.0, 7)}"
    assert read["images"][1]["url"] is None
    partial = staff.post(IMAGES, ask)
    assert partial.status_code == 202 and Job.objects.count() == 2
    assert Job.objects.first().params["checkpoint_ids"] == [second.pk]
    other = media_root / image_relative(sound.pk, second.pk, 2.0, 7)
    other.parent.mkdir(parents=True)
    other.write_bytes(b"\x89PNG")
    done = staff.post(IMAGES, ask)
    assert done.status_code == 200 and done.json()["job"] is None and Job.objects.count() == 2
    assert staff.get(done.json()["images"][0]["url"]).status_code == 200


def test_image_requests_are_staff_only(client, plain_user, sound, checkpoint):
    client.logout()
    assert client.get(IMAGES, {"sound": sound.pk, "checkpoint": checkpoint.pk}).status_code == 403
    client.force_login(plain_user)
    assert client.post(IMAGES, {"sound": sound.pk, "checkpoint": checkpoint.pk}).status_code == 403
    assert Job.objects.count() == 0


def test_ids_beyond_any_database_integer_are_a_400_not_a_500(staff, sound, checkpoint):
    huge = "9" * 30
    assert staff.get(PAGE, {"checkpoint": huge}).status_code == 200
    response = staff.post(IMAGES, {"sound": sound.pk, "checkpoint": huge})
    assert response.status_code == 400 and response.json() == {"error": f"checkpoint {huge} does not exist"}
    response = staff.post(IMAGES, {"sound": huge, "checkpoint": checkpoint.pk})
    assert response.status_code == 400 and response.json() == {"error": f"sound {huge} does not exist: upload it again"}


def test_the_admin_links_to_the_page(staff, sound, checkpoint):
    index = staff.get("/admin/").content.decode()
    assert 'href="/admin/gan/trysound/"' in index
    sounds = staff.get("/admin/gan/trysound/").content.decode()
    assert 'href="/gan/try/"' in sounds and "take.wav" in sounds
    run_page = staff.get(f"/admin/gan/trainingrun/{checkpoint.run_id}/change/").content.decode()
    assert f'href="/gan/try/?checkpoint={checkpoint.pk}"' in run_page
    assert f'href="/gan/try/?checkpoint={checkpoint.pk}"' in staff.get("/admin/gan/checkpoint/").content.decode()
    assert 'href="/gan/try/"' in staff.get("/admin/gan/trainingrun/").content.decode()
