"""The `try_sound` job: one image per (checkpoint, volume, seed) from one uploaded sound, as PNG files
(with a JSON sidecar of their provenance) at the paths gan.services.try_sound names.

The feature path is generation's: the checkpoint's own feature spec at the asked volume, through the
feature cache (SoundNet from cached_soundnet), and z from sound_seed(the stored file's path, seed),
one z per (sound, seed), by generation's rule. Generators stay loaded in a small per-process LRU, so a slider moved on the Try it
page costs feature extraction and one forward pass, not a checkpoint load.
"""
from __future__ import annotations

import dataclasses
import os
from functools import lru_cache
from pathlib import Path


from jobs.context import JobContext
from jobs.errors import JobError

from ..media_paths import media_path
from ..ml.audio import AudioError
from ..ml.checkpoint import CheckpointError, load_generator
from ..ml.device import resolve_device
from ..ml.feature_cache import extract_many
from ..ml.features import FeatureSpec
from ..ml.generate import generate_images, sound_seed
from ..ml.media import write_png
from ..models import Checkpoint, TrySound
from ..services.features import feature_cache, soundnet_model, spec_at_volume
from ..services.try_sound import TrySoundParams, checkpoint_label, image_relative

GENERATORS_KEPT = 8  # per worker process; the demo's generators are a few MB each


@lru_cache(maxsize=GENERATORS_KEPT)
def _generator(path: str, mtime_ns: int, device: str):
    return load_generator(path, device=device)


def cached_generator(path: Path, device: str):
    """load_generator, kept per (file, modification time, device): a checkpoint file rewritten in
    place is loaded again, never served stale. Callers only run it (eval mode)."""
    try:
        mtime_ns = os.stat(path).st_mtime_ns
    except FileNotFoundError:
        raise JobError(f"checkpoint file {path} does not exist") from None
    try:
        return _generator(str(path), mtime_ns, device)
    except CheckpointError as exc:
        raise JobError(str(exc)) from exc


def sound_features(sound: TrySound, spec: FeatureSpec, soundnet) -> "object":
    """(1, D) features of the uploaded sound, computed once per spec and volume (the feature cache)."""
    try:
        return extract_many([(f"try-{sound.sha256}", media_path(sound.file.name))], spec, feature_cache(),
                            soundnet=soundnet)
    except AudioError as exc:
        raise JobError(str(exc)) from exc


def run_try_sound(ctx: JobContext, p: TrySoundParams) -> dict:
    device = str(resolve_device())
    sound = TrySound.objects.filter(pk=p.sound_id).first()
    if sound is None:
        raise JobError(f"sound {p.sound_id} does not exist (it was deleted)")
    found = Checkpoint.objects.select_related("run__dataset").in_bulk(p.checkpoint_ids)
    missing = [i for i in p.checkpoint_ids if i not in found]
    if missing:
        raise JobError(f"checkpoints {missing} do not exist")
    total = len(p.checkpoint_ids) * len(p.volumes) * len(p.seeds)
    done, images = 0, []
    ctx.progress(0, total, message=f"sound {sound.pk}: loading", force=True)
    for checkpoint_id in p.checkpoint_ids:
        ckpt = found[checkpoint_id]
        generator, info = cached_generator(media_path(ckpt.path), device)
        spec = dataclasses.replace(FeatureSpec.from_dict(ckpt.run.feature_spec), clip=p.clip)
        soundnet = soundnet_model(spec, device)
        for volume in p.volumes:
            features = sound_features(sound, spec_at_volume(spec, volume), soundnet)
            for seed in p.seeds:
                z_seed = sound_seed(sound.file.name, seed)  # the one rule: the stored path
                image = generate_images(generator, features, seeds=[z_seed], device=device)[0]
                relative = image_relative(sound.pk, ckpt.pk, volume, seed, p.clip)
                write_png(media_path(relative), image, {  # atomic: the page polls for it
                    "checkpoint_id": ckpt.pk, "checkpoint": ckpt.path, "step": ckpt.step, "run_id": ckpt.run_id,
                    "variant": info["variant"], "feature_kind": spec.kind, "try_sound_id": sound.pk,
                    "sound": sound.file.name, "sound_sha256": sound.sha256, "volume": volume, "seed": seed,
                    "z_seed": z_seed, "clip": p.clip})
                images.append({"checkpoint": ckpt.pk, "label": checkpoint_label(ckpt), "volume": volume,
                               "seed": seed, "image": relative})
                done += 1
                ctx.progress(done, total, message=f"checkpoint {ckpt.pk}, volume {volume:g}, seed {seed}")
    ctx.log(f"{len(images)} images from sound {sound.pk}")
    return {"images": images}
