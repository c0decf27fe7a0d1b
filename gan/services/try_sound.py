"""Try it: images that chosen checkpoints make from one uploaded sound, at a volume and a seed.

Each image is a file at a path fixed by (sound, checkpoint, volume, seed, clip), so a request whose
images exist is answered from disk and only the missing ones become a `try_sound` job (gpu queue;
its body is gan/kinds/try_sound.py). The web tier validates, reads files and launches; it never
loads torch.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

from jobs.engine import create_job
from jobs.models import Job, JobStatus
from jobs.registry import params_json

from ..media_paths import media_path
from ..models import Checkpoint, TrySound
from . import limits

MAX_CHECKPOINTS = 8
MAX_VOLUME = 10.0
VOLUME_STEP = 0.01  # volumes are kept to two decimals: one image file per slider position, not per float
MAX_SEED = 2 ** 32 - 1
IMAGES_FOLDER = "try/images"
# Ids above this exist in no table, and SQLite cannot even be asked about them (OverflowError)
MAX_ID = 2 ** 63 - 1


class TryRequestError(ValueError):
    """A request the page or the command cannot serve; the message says why in one line."""


def canonical_volume(value) -> float:
    """A volume factor in (0, MAX_VOLUME], rounded to VOLUME_STEP; TryRequestError otherwise."""
    if isinstance(value, bool):
        raise TryRequestError(f"volume must be a number in (0, {MAX_VOLUME:g}], not {value!r}")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise TryRequestError(f"volume must be a number in (0, {MAX_VOLUME:g}], not {str(value)[:40]!r}") from None
    rounded = round(number, 2)
    if not math.isfinite(number) or not 0 < number <= MAX_VOLUME or rounded <= 0:
        raise TryRequestError(f"volume must be in (0, {MAX_VOLUME:g}] (at least {VOLUME_STEP:g}); got {number:g}")
    return rounded


def canonical_seed(value) -> int:
    if isinstance(value, bool):
        raise TryRequestError(f"seed must be a whole number from 0 to {MAX_SEED}, not {value!r}")
    if isinstance(value, str):
        value = value.strip()
        if not value.isdigit():
            raise TryRequestError(f"seed must be a whole number from 0 to {MAX_SEED}, not {value[:40]!r}")
        value = int(value)
    if not isinstance(value, int) or not 0 <= value <= MAX_SEED:
        raise TryRequestError(f"seed must be a whole number from 0 to {MAX_SEED}, not {str(value)[:40]!r}")
    return value


def checkpoint_ids(values) -> list[int]:
    """Ids from form values ('3', '3,5', 3), in order, without repeats."""
    ids: list[int] = []
    for value in values:
        for part in str(value).split(","):
            part = part.strip()
            if not part:
                continue
            if not part.isdigit():
                raise TryRequestError(f"checkpoint ids must be whole numbers, not {part[:40]!r}")
            if int(part) not in ids:
                ids.append(int(part))
    if not ids:
        raise TryRequestError("choose at least one checkpoint")
    if len(ids) > MAX_CHECKPOINTS:
        raise TryRequestError(f"at most {MAX_CHECKPOINTS} checkpoints at a time; got {len(ids)}")
    return ids


def existing_checkpoints(ids: list[int]) -> list[Checkpoint]:
    """The checkpoints, in the order asked, each with its file on disk; TryRequestError naming any
    that does not exist or whose file is gone."""
    found = Checkpoint.objects.select_related("run__dataset").in_bulk([i for i in ids if i <= MAX_ID])
    missing = [i for i in ids if i not in found]
    if missing:
        raise TryRequestError(f"checkpoint{'s' if len(missing) > 1 else ''} "
                              f"{', '.join(map(str, missing))} do{'' if len(missing) > 1 else 'es'} not exist")
    gone = [i for i in ids if not media_path(found[i].path).is_file()]
    if gone:
        raise TryRequestError(f"the file of checkpoint {', '.join(map(str, gone))} is missing from MEDIA_ROOT")
    return [found[i] for i in ids]


def existing_sound(value) -> TrySound:
    text = str(value).strip() if value is not None else ""
    if not text.isdigit():
        raise TryRequestError("sound must be the id of an uploaded sound: upload one first")
    sound = TrySound.objects.filter(pk=int(text)).first() if int(text) <= MAX_ID else None
    if sound is None:
        raise TryRequestError(f"sound {text} does not exist: upload it again")
    return sound


@dataclass
class TrySoundParams:
    sound_id: int = 0
    checkpoint_ids: list = field(default_factory=list)
    volumes: list = field(default_factory=lambda: [1.0])
    seeds: list = field(default_factory=lambda: [0])
    clip: bool = True  # clip the louder waveform at +-1, as generation does by default

    def __post_init__(self):
        if isinstance(self.sound_id, bool) or not isinstance(self.sound_id, int) or self.sound_id < 1:
            raise ValueError("sound_id must be the id of an uploaded sound")
        if (not self.checkpoint_ids or len(self.checkpoint_ids) > MAX_CHECKPOINTS
                or not all(isinstance(i, int) and not isinstance(i, bool) for i in self.checkpoint_ids)):
            raise ValueError(f"checkpoint_ids must be a list of 1 to {MAX_CHECKPOINTS} checkpoint ids")
        if not self.volumes or not self.seeds:
            raise ValueError("volumes and seeds must be non-empty lists")
        try:
            self.volumes = [canonical_volume(v) for v in self.volumes]
            self.seeds = [canonical_seed(s) for s in self.seeds]
        except TryRequestError as exc:
            raise ValueError(str(exc)) from None


def image_relative(sound_id: int, checkpoint_id: int, volume: float, seed: int, clip: bool = True) -> str:
    """Where the image of (sound, checkpoint, volume, seed) is, under MEDIA_ROOT."""
    suffix = "" if clip else "_noclip"
    return f"{IMAGES_FOLDER}/sound{sound_id}/ckpt{checkpoint_id}/vol{volume:g}_seed{seed}{suffix}.png"


def checkpoint_label(ckpt: Checkpoint) -> str:
    run = ckpt.run
    name = f" {run.name}" if run.name else ""
    result = " (result)" if ckpt.is_final else ""
    return (f"run #{run.pk}{name} · {run.dataset.name} · row {run.variant} · "
            f"{run.feature_spec.get('kind', '?')} · step {ckpt.step}{result}")


def images_state(sound: TrySound, checkpoints: list[Checkpoint], volume: float, seed: int,
                 clip: bool = True) -> list[dict]:
    """One entry per checkpoint: its label and its image's path under MEDIA_ROOT, or None if not made yet."""
    out = []
    for ckpt in checkpoints:
        relative = image_relative(sound.pk, ckpt.pk, volume, seed, clip)
        out.append({"checkpoint": ckpt.pk, "label": checkpoint_label(ckpt),
                    "image": relative if media_path(relative).is_file() else None})
    return out


def launch_try_sound(sound: TrySound, checkpoints: list[Checkpoint], *, volumes=(1.0,), seeds=(0,),
                     clip: bool = True, user=None, enqueue: bool = True) -> Job:
    """A try_sound job for these images; one already queued or running for exactly the same images
    is returned instead of a second (a slider let go twice at the same place makes one job)."""
    params = params_json(TrySoundParams(sound_id=sound.pk, checkpoint_ids=[c.pk for c in checkpoints],
                                        volumes=list(volumes), seeds=list(seeds), clip=clip))
    limits.check_generation(len(checkpoints), params["volumes"], params["seeds"], sounds=1)
    if enqueue:
        pending = Job.objects.filter(kind="try_sound", params=params,
                                     status__in=[JobStatus.QUEUED, JobStatus.RUNNING]).first()
        if pending is not None:
            return pending
    return create_job("try_sound", params, user=user, enqueue=enqueue)


def request_images(sound: TrySound, checkpoints: list[Checkpoint], volume: float, seed: int, *,
                   user=None) -> tuple[list[dict], Job | None]:
    """The images of the request, and the job making those that are missing (None when all exist)."""
    state = images_state(sound, checkpoints, volume, seed)
    missing = [c for c, entry in zip(checkpoints, state) if entry["image"] is None]
    if not missing:
        return state, None
    return state, launch_try_sound(sound, missing, volumes=[volume], seeds=[seed], user=user)
