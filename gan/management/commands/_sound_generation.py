"""`generate --sound FILE`: images from a sound of your own, through the Try it page's service code
(the same checks, the same stored sound, the same `try_sound` job), optionally copied to --out."""
from __future__ import annotations

import shutil
from pathlib import Path

from django.core.management.base import CommandError

from gan.media_paths import media_path
from gan.models import TrainingRun
from gan.services.sound_upload import SoundRefused, check_sound_file, store_sound
from gan.services.try_sound import (TryRequestError, canonical_seed, canonical_volume, checkpoint_ids,
                                    existing_checkpoints, launch_try_sound)
from jobs.commands import follow, launch
from jobs.models import JobStatus


def _run_results(run_ids) -> list[int]:
    ids = []
    for run_id in run_ids:
        run = TrainingRun.objects.filter(pk=run_id).first()
        result = run and (run.checkpoints.filter(is_final=True).order_by("-step").first()
                          or run.checkpoints.order_by("-step").first())
        if not result:
            raise CommandError(f"training run {run_id} does not exist or has no checkpoint")
        ids.append(result.pk)
    return ids


def generate_from_sound(command, o: dict) -> None:
    path = Path(o["sound"])
    if not path.is_file():
        raise CommandError(f"sound file {path} does not exist")
    if o["out"] and not (o["inline"] or o["wait"]):
        raise CommandError("--out copies the PNGs when the job has made them: add --inline (run it here) "
                           "or --wait (follow a worker)")
    try:
        checkpoints = existing_checkpoints(checkpoint_ids(list(o["checkpoint"]) + _run_results(o["run"])))
        volumes = [canonical_volume(v) for v in o["volumes"].split(",")]
        seeds = [canonical_seed(s) for s in o["seeds"].split(",")]
        checked = check_sound_file(path)
    except TryRequestError as exc:
        raise CommandError(str(exc).replace("choose at least one checkpoint", "give --checkpoint or --run"))
    except SoundRefused as exc:
        raise CommandError(f"{path}: {exc}")
    sound, created = store_sound(path, checked, original_name=path.name)
    command.stdout.write(f"sound #{sound.pk}: {checked.duration_s:.1f} s {checked.audio_format}"
                         f"{'' if created else ' (stored before)'}")
    job = launch(lambda enqueue: launch_try_sound(sound, checkpoints, volumes=volumes, seeds=seeds,
                                                  clip=not o["no_clip"], enqueue=enqueue), o)
    job = follow(command, job, o)
    if job.status != JobStatus.SUCCEEDED:  # only queued: its PNGs will be under MEDIA_ROOT
        return
    out = Path(o["out"]) if o["out"] else None
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
    for image in job.metrics["images"]:
        source = media_path(image["image"])
        if out is None:
            command.stdout.write(str(source))
            continue
        target = out / f"sound{sound.pk}_ckpt{image['checkpoint']}_vol{image['volume']:g}_seed{image['seed']}.png"
        shutil.copyfile(source, target)
        command.stdout.write(str(target))
