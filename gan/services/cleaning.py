"""The `clean` job: SoundNet on each sound, an ImageNet classifier on each frame, compared through a
class map (gan/ml/cleaning.py). Discarded pairs stay in the database with the reason; nothing is
deleted, and re-running replaces the previous decision."""
from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from functools import lru_cache
from itertools import groupby

import numpy as np
from django.conf import settings
from django.db import transaction
from PIL import Image, UnidentifiedImageError

from ..jobs import JobContext, JobError, create_job, job_kind
from ..ml.audio import AudioError, load_audio
from ..ml.cleaning import PAPER_CLASS_MAP, UNMAPPED, ClassMap, decide
from ..models import ClassMap as ClassMapRow
from ..models import Dataset, PairStatus
from .datasets import media_path

BUILTIN_MAPS = {"paper": PAPER_CLASS_MAP}
IMAGE_CLASSIFIERS = ("efficientnet-lite0", "inception-v3")


def build_class_map(classes: dict) -> ClassMap:
    from ..ml.soundnet import imagenet_class_names

    return ClassMap(classes, imagenet_class_names())


def class_map_named(name: str) -> ClassMap:
    """A ClassMap row of that name, else a built-in map ('paper': the nine classes)."""
    row = ClassMapRow.objects.filter(name=name).first()
    if row is not None:
        return build_class_map(row.classes)
    if name in BUILTIN_MAPS:
        return build_class_map(BUILTIN_MAPS[name])
    known = sorted(set(BUILTIN_MAPS) | set(ClassMapRow.objects.values_list("name", flat=True)))
    raise JobError(f"unknown class map {name!r}; known: {known}")


@dataclass
class CleanParams:
    dataset_id: int
    class_map: str = "paper"
    top_k: int = 1
    image_classifier: str = "efficientnet-lite0"
    inception_weights: str = ""  # a local file; empty = look in WEIGHTS_DIR
    only_pending: bool = False
    batch_size: int = 32

    def __post_init__(self):
        if not 1 <= self.top_k <= 1000:
            raise ValueError(f"top_k must be in 1..1000, got {self.top_k}")
        if self.image_classifier not in IMAGE_CLASSIFIERS:
            raise ValueError(f"image_classifier must be one of {IMAGE_CLASSIFIERS}, not {self.image_classifier!r}")
        if self.batch_size < 1:
            raise ValueError("batch_size must be at least 1")


def launch_cleaning(dataset: Dataset, *, user=None, enqueue: bool = True, **params):
    params = {"dataset_id": dataset.pk, **params}
    class_map_named(params.get("class_map", "paper"))  # refuse an unknown map before queueing
    if params.get("image_classifier") == "inception-v3":  # and a missing weights file
        from ..ml.classifiers.inception import find_inception_weights
        from ..ml.weights import WeightsMissing

        try:
            find_inception_weights(params.get("inception_weights") or None, settings.WEIGHTS_DIR)
        except WeightsMissing as exc:
            raise JobError(str(exc)) from exc
    return create_job("clean", params, user=user, enqueue=enqueue)


def load_image_classifier(name: str, inception_weights: str = "", device=None):
    from ..ml.classifiers import load_efficientnet_lite0, load_inception_v3

    if name == "efficientnet-lite0":
        classifier = load_efficientnet_lite0(device=device)
    else:
        classifier = load_inception_v3(inception_weights or None, weights_dir=settings.WEIGHTS_DIR, device=device)
    if classifier.num_classes != 1000:
        raise JobError(f"{classifier.name} has {classifier.num_classes} outputs without ImageNet names; "
                       "cleaning needs a 1000-class ImageNet classifier (torchvision's Inception-v3 file)")
    return classifier


def read_frame(path) -> np.ndarray:
    """A stored frame as (H, W, 3) uint8; cut-outs with transparency are put on white."""
    with Image.open(path) as image:
        rgba = image.convert("RGBA")
        flat = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        flat.alpha_composite(rgba)
        return np.asarray(flat.convert("RGB"))


@job_kind("clean", queue="gpu", params=CleanParams, label="Clean a dataset (SoundNet vs image classifier)")
def run_cleaning(ctx: JobContext, params: dict) -> dict:
    from ..ml.classifiers.base import resolve_device
    from ..ml.soundnet import imagenet_class_names
    from ..ml.weights import soundnet_weights_path

    p = CleanParams(**params)
    dataset = Dataset.objects.get(pk=p.dataset_id)
    class_map = class_map_named(p.class_map)
    names = imagenet_class_names()
    device = resolve_device(None)
    soundnet = _cached_soundnet(str(soundnet_weights_path(settings.WEIGHTS_DIR)), str(device))
    classifier = _cached_classifier(p.image_classifier, p.inception_weights, str(device))
    pairs = dataset.pairs.order_by("sound", "id")
    if p.only_pending:
        pairs = pairs.filter(status=PairStatus.PENDING)
    pairs = list(pairs)
    by_sound = [(sound, list(group)) for sound, group in groupby(pairs, key=lambda pair: pair.sound.name)]
    ctx.log(f"{len(pairs)} pairs from {len(by_sound)} sounds; map {p.class_map!r} "
            f"({', '.join(class_map.names)}), top-{p.top_k}, {classifier.name} on {device}")
    settings_used = {"class_map": p.class_map, "top_k": p.top_k, "image_classifier": classifier.name}
    counts = {"kept": 0, "discarded": 0}
    for done, (sound, group) in enumerate(by_sound):
        ctx.check_cancelled()
        try:
            sound_probs = _sound_probabilities(soundnet, media_path(sound))
        except AudioError as exc:
            sound_probs, sound_error = None, str(exc)
        frames, readable = [], []
        for pair in group:
            try:
                frames.append(read_frame(media_path(pair.image.name)))
                readable.append(pair)
            except (OSError, UnidentifiedImageError) as exc:
                _discard(pair, f"image cannot be read: {exc}", settings_used)
        if sound_probs is None:
            for pair in readable:
                _discard(pair, f"sound cannot be used: {sound_error}", settings_used)
        elif frames:
            image_probs = _classify(classifier, frames, p.batch_size, device)
            for pair, probs in zip(readable, image_probs):
                decision = decide(sound_probs, probs, class_map, names, p.top_k)
                provenance = _provenance(pair)
                pair.status = PairStatus.KEPT if decision.kept else PairStatus.DISCARDED
                pair.label = decision.label
                pair.clean_report = decision.report(**provenance, **settings_used)
        for pair in group:
            counts["kept" if pair.status == PairStatus.KEPT else "discarded"] += 1
        with transaction.atomic():
            type(group[0]).objects.bulk_update(group, ["status", "label", "clean_report"])
        ctx.progress(done + 1, len(by_sound), metrics=dict(counts), message=f"sound {done + 1}/{len(by_sound)}")
    kept_labels = sorted(set(dataset.pairs.filter(status=PairStatus.KEPT).values_list("label", flat=True)))
    dataset.class_names = kept_labels
    dataset.info = dict(dataset.info, cleaning=dict(settings_used, job=ctx.job_id, **counts))
    dataset.save(update_fields=["class_names", "info"])
    total = counts["kept"] + counts["discarded"]
    return dict(counts, pairs=total, sounds=len(by_sound),
                discard_rate=round(counts["discarded"] / total, 4) if total else None)


# A worker keeps the networks and the sounds' predictions between jobs: re-cleaning with another
# top-k or class map (the usual next step) then costs only the comparison. Keyed by file path, size
# and modification time, so a replaced file is predicted again.
@lru_cache(maxsize=2)
def _cached_soundnet(path: str, device: str):
    from ..ml.soundnet import load_soundnet

    return load_soundnet(path, device=device)


@lru_cache(maxsize=2)
def _cached_classifier(name: str, inception_weights: str, device: str):
    return load_image_classifier(name, inception_weights, device)


_SOUND_CACHE: OrderedDict = OrderedDict()
SOUND_CACHE_SIZE = 4096  # 1000 float32 each: 16 MB at most


def _sound_probabilities(soundnet, path) -> np.ndarray:
    from ..ml.soundnet import object_probabilities

    stat = path.stat() if path.exists() else None
    key = (str(path), stat.st_size if stat else -1, stat.st_mtime_ns if stat else -1, id(soundnet))
    if key in _SOUND_CACHE:
        _SOUND_CACHE.move_to_end(key)
        return _SOUND_CACHE[key]
    wave, rate = load_audio(path)
    probabilities = object_probabilities(soundnet, wave, rate).astype(np.float32)
    _SOUND_CACHE[key] = probabilities
    while len(_SOUND_CACHE) > SOUND_CACHE_SIZE:
        _SOUND_CACHE.popitem(last=False)
    return probabilities


def _classify(classifier, frames: list[np.ndarray], batch_size: int, device) -> np.ndarray:
    """Frames of one sound may differ in size (a manifest's images): classify same-size runs together."""
    out = np.empty((len(frames), classifier.num_classes))
    sizes = [frame.shape for frame in frames]
    for shape in set(sizes):
        rows = [i for i, s in enumerate(sizes) if s == shape]
        out[rows] = classifier.predict_proba(np.stack([frames[i] for i in rows]), batch_size=batch_size, device=device)
    return out


# What the import recorded (source video, frame time, manifest line) and the label before the first
# cleaning survive every re-cleaning.
PROVENANCE_KEYS = ("source", "frame_time", "segment_start", "manifest_line", "label_before")


def _provenance(pair) -> dict:
    kept = {key: pair.clean_report[key] for key in PROVENANCE_KEYS if key in pair.clean_report}
    kept.setdefault("label_before", pair.label)
    return kept


def _discard(pair, reason: str, settings_used: dict) -> None:
    provenance = _provenance(pair)
    pair.status = PairStatus.DISCARDED
    pair.label = UNMAPPED
    pair.clean_report = {"kept": False, "label": UNMAPPED, "reason": reason, **provenance, **settings_used}


def table1(dataset: Dataset) -> list[dict]:
    """The paper's Table 1 for a dataset: pairs per class, kept and discarded, and the discard rate
    (pending = not cleaned yet). The last row is the total."""
    from django.db.models import Count

    rows: dict[str, dict] = {}
    for row in dataset.pairs.values("label", "status").annotate(n=Count("id")):
        entry = rows.setdefault(row["label"], {"class": row["label"], PairStatus.KEPT: 0,
                                               PairStatus.DISCARDED: 0, PairStatus.PENDING: 0})
        entry[row["status"]] = row["n"]
    ordered = sorted(rows.values(), key=lambda r: (r["class"] == UNMAPPED, -r[PairStatus.KEPT], r["class"]))
    total = {"class": "total", **{s: sum(r[s] for r in ordered) for s in PairStatus.values}}
    out = []
    for row in ordered + [total]:
        cleaned = row[PairStatus.KEPT] + row[PairStatus.DISCARDED]
        out.append({"class": row["class"], "kept": row[PairStatus.KEPT], "discarded": row[PairStatus.DISCARDED],
                    "pending": row[PairStatus.PENDING], "pairs": cleaned + row[PairStatus.PENDING],
                    "discard_rate": round(row[PairStatus.DISCARDED] / cleaned, 4) if cleaned else None})
    return out


TABLE1_COLUMNS = ("class", "pairs", "kept", "discarded", "pending", "discard_rate")


def table1_csv(dataset: Dataset) -> str:
    import csv
    import io

    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=TABLE1_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(table1(dataset))
    return buffer.getvalue()
