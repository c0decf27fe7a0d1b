"""The try_sound job end to end on a tiny trained checkpoint: PNGs at their paths with provenance, one z
per (sound, seed), volume through the checkpoint's own features, and generators kept loaded."""
import json
import os

import numpy as np
import pytest
from PIL import Image

from gan.kinds import try_sound as kind
from gan.ml.generate import sound_seed
from gan.models import GeneratedImage
from gan.services.try_sound import image_relative, launch_try_sound
from jobs.engine import execute_job
from jobs.models import JobStatus
from tests.gan.try_sound_helpers import checkpoint, run, sound  # noqa: F401 (fixtures)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def pixels(media_root, relative):
    return np.asarray(Image.open(media_root / relative))


def test_images_for_volumes_and_seeds_with_provenance(checkpoint, sound, media_root):
    job = run(launch_try_sound(sound, [checkpoint], volumes=[0.5, 1.0, 3.0], seeds=[0, 7], enqueue=False))
    assert job.queue == "gpu" and job.step == job.total == 6
    images = job.metrics["images"]
    assert [(i["volume"], i["seed"]) for i in images] == [(0.5, 0), (0.5, 7), (1.0, 0), (1.0, 7), (3.0, 0), (3.0, 7)]
    for entry in images:
        assert entry["image"] == image_relative(sound.pk, checkpoint.pk, entry["volume"], entry["seed"])
        png = pixels(media_root, entry["image"])
        assert png.shape == (32, 32, 3) and png.dtype == np.uint8
        provenance = json.loads((media_root / entry["image"]).with_suffix(".json").read_text())
        assert provenance["z_seed"] == sound_seed(sound.file.name, entry["seed"])  # generation's rule: the path
        assert provenance["checkpoint_id"] == checkpoint.pk and provenance["feature_kind"] == "mfcc"
        assert provenance["variant"] == "g" and provenance["try_sound_id"] == sound.pk
        assert provenance["volume"] == entry["volume"] and provenance["clip"] is True
    by_key = {(i["volume"], i["seed"]): pixels(media_root, i["image"]).astype(int) for i in images}
    assert np.abs(by_key[(1.0, 0)] - by_key[(1.0, 7)]).sum() > 0  # another seed, another z
    assert np.abs(by_key[(1.0, 0)] - by_key[(0.5, 0)]).sum() > 0  # quieter: other MFCCs, another image
    assert GeneratedImage.objects.count() == 0  # no test-set rows: no evaluation or study can pick these up
    assert not list(media_root.rglob("*.part"))


def test_the_same_request_makes_the_same_image_and_keeps_the_generator_loaded(checkpoint, sound, media_root):
    kind._generator.cache_clear()
    first = run(launch_try_sound(sound, [checkpoint], volumes=[2.0], seeds=[3], enqueue=False))
    before = pixels(media_root, first.metrics["images"][0]["image"]).copy()
    (media_root / first.metrics["images"][0]["image"]).unlink()
    run(launch_try_sound(sound, [checkpoint], volumes=[1.5], seeds=[3], enqueue=False))
    run(launch_try_sound(sound, [checkpoint], volumes=[2.0], seeds=[3], enqueue=False))
    assert np.array_equal(pixels(media_root, first.metrics["images"][0]["image"]), before)
    info = kind._generator.cache_info()
    assert (info.misses, info.hits) == (1, 2)  # loaded once for three jobs
    # a checkpoint rewritten in place is loaded again, never served stale
    path = media_root / checkpoint.path
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    run(launch_try_sound(sound, [checkpoint], volumes=[1.0], seeds=[3], enqueue=False))
    assert kind._generator.cache_info().misses == 2


def test_a_sound_deleted_before_the_job_runs_fails_it_in_one_line(checkpoint, sound):
    job = launch_try_sound(sound, [checkpoint], enqueue=False)
    sound.delete()
    execute_job(job.pk, "test")
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED
    assert job.error == f"sound {job.params['sound_id']} does not exist (it was deleted)"
