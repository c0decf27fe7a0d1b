"""Asking for Try it images (gan/services/try_sound.py): a request is answered from disk once its images
exist, and the same request while its job is queued gets that job, not a second one. The job itself:
tests/gan/kinds/test_try_sound.py."""
import pytest

from gan.services.try_sound import image_relative, request_images
from jobs.models import Job, JobStatus
from tests.gan.try_sound_helpers import checkpoint, run, sound  # noqa: F401 (fixtures)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


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
