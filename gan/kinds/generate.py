"""The `generate` job: images for the test sounds x checkpoints x volumes x seeds, each stored with its
provenance, plus each checkpoint's class grid (Fig. 2) and volume table (Table 3), each a Figure row."""
from __future__ import annotations

import dataclasses

import numpy as np

from jobs.engine import JobContext
from jobs.errors import JobError

from ..media_paths import media_path, media_relative
from ..ml import atomic
from ..ml.checkpoint import load_generator
from ..ml.device import resolve_device
from ..ml.features import FeatureSpec
from ..ml.generate import class_grid, generate_images, save_images, sound_seed, volume_table
from ..ml.media import write_png
from ..ml.paired_arrays import class_index
from ..models import Checkpoint, FigureKind, GeneratedImage
from ..selectors.datasets import usable_pairs
from ..services.features import features_for_pairs, soundnet_model, spec_at_volume
from ..services.figures import record_figure
from ..services.generation import GenerateParams


def distinct_sounds(pairs, max_sounds: int = 0) -> list:
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


def run_generation(ctx: JobContext, p: GenerateParams) -> dict:
    # Images, grids and rows are written only while this attempt owns the job (JobContext.fence):
    # an attempt the reaper gave up on cannot overwrite what its replacement made.
    with atomic.fenced_writes(ctx.fence):
        return _generate(ctx, p)


def _generate(ctx: JobContext, p: GenerateParams) -> dict:
    device = str(resolve_device())
    checkpoints = list(Checkpoint.objects.select_related("run__dataset").filter(pk__in=p.checkpoint_ids))
    total = len(checkpoints) * len(p.volumes)
    done, created, outputs = 0, 0, {}
    for ckpt in checkpoints:
        run = ckpt.run
        pairs = distinct_sounds(usable_pairs(run.dataset, p.split), p.max_sounds)
        if not pairs:
            raise JobError(f"dataset {run.dataset.name!r} has no {p.split} pairs to generate from")
        generator, state = load_generator(media_path(ckpt.path), device=device)
        spec = dataclasses.replace(FeatureSpec.from_dict(run.feature_spec), clip=p.clip)
        soundnet = soundnet_model(spec, device)
        class_index_of = class_index(run.dataset.class_names)
        out_dir = media_path("generated") / f"job{ctx.job_id}" / f"ckpt{ckpt.pk}"
        by_volume = {}
        for volume in p.volumes:
            features = features_for_pairs(pairs, spec_at_volume(spec, volume), soundnet=soundnet)
            for seed in p.seeds:
                z_seeds = [sound_seed(pair.sound.name, seed) for pair in pairs]
                images = generate_images(generator, features, seeds=z_seeds, device=device)
                by_volume[(volume, seed)] = images
                provenance = [{
                    "checkpoint_id": ckpt.pk, "checkpoint": ckpt.path, "step": ckpt.step,
                    "run_id": run.pk, "variant": run.variant, "feature_kind": spec.kind,
                    "sound": pair.sound.name, "pair_id": pair.pk, "sound_label": pair.label,
                    "volume": volume, "seed": seed, "z_seed": z_seed, "clip": p.clip,
                } for pair, z_seed in zip(pairs, z_seeds)]
                records = save_images(images, out_dir / f"vol{volume:g}_seed{seed}", provenance)
                with ctx.fence():
                    for pair, record in zip(pairs, records):
                        rel = media_relative(record.pop("path"))
                        _, new = GeneratedImage.objects.update_or_create(
                            checkpoint=ckpt, sound=pair.sound.name, volume=volume, seed=seed,
                            defaults={"source_pair": pair, "sound_label": pair.label, "image": rel,
                                      "job_id": ctx.job_id, "provenance": record})
                        created += int(new)
            done += 1
            ctx.progress(done, total, message=f"checkpoint {ckpt.pk}, volume {volume:g}")
        labels = [class_index_of[pair.label] for pair in pairs]
        first = by_volume[(p.volumes[0], p.seeds[0])]
        per_class = max(1, min(8, min(labels.count(i) for i in set(labels))))
        grid_path = out_dir / "class_grid.png"
        grid = class_grid(first, labels, run.dataset.class_names, per_class=per_class)
        write_png(grid_path, grid)
        outputs[f"ckpt{ckpt.pk}_class_grid"] = media_relative(grid_path)
        with ctx.fence():
            record_figure(ctx.job_id, ckpt, FigureKind.CLASS_GRID, p.split, media_relative(grid_path))
        if len(p.volumes) > 1:
            rows = _volume_rows(pairs, labels)
            stacked = np.stack([[by_volume[(v, p.seeds[0])][i] for v in p.volumes] for i in rows])
            table_path = out_dir / "volume_table.png"
            table = volume_table(stacked, p.volumes, [pairs[i].label for i in rows])
            write_png(table_path, table)
            outputs[f"ckpt{ckpt.pk}_volume_table"] = media_relative(table_path)
            with ctx.fence():
                record_figure(ctx.job_id, ckpt, FigureKind.VOLUME_TABLE, p.split, media_relative(table_path))
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
