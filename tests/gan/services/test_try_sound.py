"""Asking for Try it images (gan/services/try_sound.py): a request is answered from disk once its images
exist, and the same request while its job is queued gets that job, not a second one. The job itself:
tests/gan/kinds/test_try_sound.py."""
import pytest

from gan.services.sound_upload import check_sound_file, store_sound
from gan.services.try_sound import image_relative, request_images
from jobs.engine import execute_job
from jobs.models import Job, JobStatus
from tests.gan.try_sound_helpers import train_tiny_checkpoint, write_tone

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


@pytest.fixture
def checkpoint(media_root, tmp_path):
    return train_tiny_checkpoint(tmp_path)


@pytest.fixture
def sound(tmp_path):
    # like the training tones (pitch, level, noise floor): at x1 the sound sits inside the training
    # statistics, so a volume change moves the generator's input instead of both ending at its clamp
    path = write_tone(tmp_path / "mine.wav", freq=660.0, seconds=0.5, amplitude=0.3, noise=0.01)
    return store_sound(path, check_sound_file(path), original_name="mine.wav")[0]


def run(job):
    execute_job(job.pk, "test")
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED, job.error
    return job


def test_a_request_is_answered_from_disk_once_its_images_exist(checkpoint, sound, media_root):
    state, job = request_images(sound, [checkpoint], 1.0, 0)
    assert state[0]["image"] is None and job.status == JobStatus.QUEUED
    again, same_job = request_images(sound, [checkpoint], 1.0, 0)
    # the same request again while the first is queued: the same job
    assert same_job.pk == job.pk and Job.objects.filter(kind="try_sound").count() == 1
    run(job)
    state, no_job = request_images(sound, [checkpoint], 1.0, 0)
    assert no_job is None and state[0]["image"] == image_relative(sound.pk, checkpoint.pk, 1.0, 0)
    assert Job.objects.filter(kind="try_sound").count() == 1
