"""Generation: images for sounds x checkpoints x volumes x seeds, with provenance, grids and tables."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np
import torch
from django.conf import settings

from ..jobs import JobContext, JobError, create_job, job_kind
from ..ml.checkpoint import load_generator
from ..ml.features import FeatureSpec
from ..ml.generate import class_grid, generate_images, save_images, volume_table
from ..models import Checkpoint, GeneratedImage, Split
from .datasets import usable_pairs
from .features import features_for_pairs, soundnet_model, spec_at_volume


@dataclass
class GenerateParams:
    checkpoint_ids: list = field(default_factory=list)
    split: str = "test"
    volumes: list = field(default_factory=lambda: [1.0])
    seeds: list = field(default_factory=lambda: [0])
    clip: bool = True
    max_sounds: int = 0  # 0 = every sound of the split

    def __post_init__(self):
        if not self.checkpoint_ids or not all(isinstance(i, int) for i in self.checkpoint_ids):
            raise ValueError("checkpoint_ids must be a non-empty list of checkpoint ids")
        if self.split not in Split.values:
            raise ValueError(f"split must be one of {Split.values}")
        if not self.volumes or not all(isinstance(v, (int, float)) and 0 < v <= 100 for v in self.volumes):
            raise ValueError("volumes must be a non-empty list of factors in (0, 100]")
        if not self.seeds or not all(isinstance(s, int) and s >= 0 for s in self.seeds):
            raise ValueError("seeds must be a non-empty list of non-negative integers")
        if self.max_sounds < 0:
            raise ValueError("max_sounds must be >= 0")


def launch_generation(checkpoints, *, volumes=(1.0,), seeds=(0,), split="test", clip=True,
                      max_sounds=0, user=None, enqueue=True):
    ids = [c.pk for c in checkpoints]
    missing = set(ids) - set(Checkpoint.objects.filter(pk__in=ids).values_list("pk", flat=True))
    if missing:
        raise JobError(f"checkpoints {sorted(missing)} do not exist")
    return create_job("generate", {"checkpoint_ids": ids, "volumes": [float(v) for v in volumes],
                                   "seeds": list(seeds), "split": split, "clip": clip,
                                   "max_sounds": max_sounds}, user=user, enqueue=enqueue)


def _pick_sounds(pairs, max_sounds: int) -> list:
    """One pair per distinct sound (a sound may be paired with several frames), classes interleaved."""
    seen, unique = set(), []
    for pair in pairs:
        if pair.sound.name not in seen:
            seen.add(pair.sound.name)
            unique.append(pair)
    unique.sort(key=lambda p: (p.label, p.pk))
    if max_sounds and len(unique) > max_sounds:
        by_class: dict[str, list] = {}
        for p in unique:
            by_class.setdefault(p.label, []).append(p)
        picked, i = [], 0
        while len(picked) < max_sounds:  # round-robin over classes keeps the classes balanced
            for members in by_class.values():
                if i < len(members) and len(picked) < max_sounds:
                    picked.append(members[i])
            i += 1
        unique = sorted(picked, key=lambda p: (p.label, p.pk))
    return unique


@job_kind("generate", queue="gpu", params=GenerateParams, label="Generate images from sounds")
def run_generation(ctx: JobContext, params: dict) -> dict:
    p = GenerateParams(**params)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    checkpoints = list(Checkpoint.objects.select_related("run__dataset").filter(pk__in=p.checkpoint_ids))
    total = len(checkpoints) * len(p.volumes)
    done, created, outputs = 0, 0, {}
    for ckpt in checkpoints:
        run = ckpt.run
        pairs = _pick_sounds(usable_pairs(run.dataset, p.split), p.max_sounds)
        if not pairs:
            raise JobError(f"dataset {run.dataset.name!r} has no {p.split} pairs to generate from")
        generator, state = load_generator(settings.MEDIA_ROOT / ckpt.path, device=device)
        spec = dataclasses.replace(FeatureSpec.from_dict(run.feature_spec), clip=p.clip)
        soundnet = soundnet_model(spec, device)
        class_index = {n: i for i, n in enumerate(run.dataset.class_names)}
        out_dir = settings.MEDIA_ROOT / "generated" / f"job{ctx.job_id}" / f"ckpt{ckpt.pk}"
        by_volume = {}
        for volume in p.volumes:
            features = features_for_pairs(pairs, spec_at_volume(spec, volume), soundnet=soundnet)
            for seed in p.seeds:
                images = generate_images(generator, features, seeds=[seed] * len(pairs), device=device)
                by_volume[(volume, seed)] = images
                provenance = [{
                    "checkpoint_id": ckpt.pk, "checkpoint": ckpt.path, "step": ckpt.step,
                    "run_id": run.pk, "variant": run.variant, "feature_kind": spec.kind,
                    "sound": pair.sound.name, "pair_id": pair.pk, "sound_label": pair.label,
                    "volume": volume, "seed": seed, "clip": p.clip,
                } for pair in pairs]
                records = save_images(images, out_dir / f"vol{volume:g}_seed{seed}", provenance)
                for pair, record in zip(pairs, records):
                    rel = str(record.pop("path")).split(str(settings.MEDIA_ROOT) + "/", 1)[1]
                    _, new = GeneratedImage.objects.update_or_create(
                        checkpoint=ckpt, sound=pair.sound.name, volume=volume, seed=seed,
                        defaults={"source_pair": pair, "sound_label": pair.label, "image": rel,
                                  "job_id": ctx.job_id, "provenance": record})
                    created += int(new)
            done += 1
            ctx.progress(done, total, message=f"checkpoint {ckpt.pk}, volume {volume:g}")
        labels = [class_index[pair.label] for pair in pairs]
        first = by_volume[(p.volumes[0], p.seeds[0])]
        per_class = max(1, min(8, min(labels.count(i) for i in set(labels))))
        grid_path = out_dir / "class_grid.png"
        class_grid(first, labels, run.dataset.class_names, per_class=per_class).save(grid_path)
        outputs[f"ckpt{ckpt.pk}_class_grid"] = str(grid_path.relative_to(settings.MEDIA_ROOT))
        if len(p.volumes) > 1:
            rows = _volume_rows(pairs, labels)
            stacked = np.stack([[by_volume[(v, p.seeds[0])][i] for v in p.volumes] for i in rows])
            table_path = out_dir / "volume_table.png"
            volume_table(stacked, p.volumes, [pairs[i].label for i in rows]).save(table_path)
            outputs[f"ckpt{ckpt.pk}_volume_table"] = str(table_path.relative_to(settings.MEDIA_ROOT))
    ctx.log(f"{created} new images")
    return {"images_created": created, "outputs": outputs}


def _volume_rows(pairs, labels, per_class=1, max_rows=10) -> list[int]:
    """Rows of the volume table: the first sound of each class (the paper shows a few classes)."""
    rows, seen = [], {}
    for i, label in enumerate(labels):
        if seen.get(label, 0) < per_class:
            rows.append(i)
            seen[label] = seen.get(label, 0) + 1
    return rows[:max_rows]
