"""The `clean` job: SoundNet on each sound, an ImageNet classifier on each frame, compared through a
class map (gan/ml/cleaning.py). Discarded pairs stay in the database with the reason; nothing is
deleted, and re-running replaces the previous decision."""
from __future__ import annotations

from collections import OrderedDict
from functools import lru_cache
from itertools import groupby

import numpy as np
from django.conf import settings
from django.db import transaction

from jobs.context import JobContext
from jobs.errors import JobError

from ..media_paths import media_path
from ..ml.audio import AudioError, load_audio
from ..ml.classifiers import load_efficientnet_lite0, load_inception_v3
from ..ml.device import resolve_device
from ..ml.cleaning import UNMAPPED, decide
from ..ml.media import MediaError, read_image
from ..ml.imagenet_classes import imagenet_class_names
from ..ml.soundnet import object_probabilities
from ..models import Dataset, PairStatus
from ..services.cleaning import CleanParams, class_map_named
from ..services.datasets import refresh_class_names
from ..services.features import pretrained_soundnet


def load_image_classifier(name: str, inception_weights: str = "", device=None):
    if name == "efficientnet-lite0":
        classifier = load_efficientnet_lite0(device=device)
    else:
        classifier = load_inception_v3(inception_weights or None, weights_dir=settings.WEIGHTS_DIR, device=device)
    if classifier.num_classes != 1000:
        raise JobError(f"{classifier.name} has {classifier.num_classes} outputs without ImageNet names; "
                       "cleaning needs a 1000-class ImageNet classifier (torchvision's Inception-v3 file)")
    return classifier


def run_cleaning(ctx: JobContext, p: CleanParams) -> dict:
    dataset = Dataset.objects.get(pk=p.dataset_id)
    class_map = class_map_named(p.class_map)
    names = imagenet_class_names()
    device = resolve_device(None)
    soundnet = pretrained_soundnet(str(device))
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
                # cut-outs on white; the import's pixel cap holds here too (pairs stored before it existed,
                # files replaced on disk)
                frames.append(read_image(media_path(pair.image.name)))
                readable.append(pair)
            except (MediaError, OSError) as exc:
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
    refresh_class_names(dataset)  # the kept classes, in a stable order
    dataset.info = dict(dataset.info, cleaning=dict(settings_used, job=ctx.job_id, **counts))
    dataset.save(update_fields=["class_names", "info"])
    total = counts["kept"] + counts["discarded"]
    return dict(counts, pairs=total, sounds=len(by_sound),
                discard_rate=round(counts["discarded"] / total, 4) if total else None)


# A worker keeps the networks and the sounds' predictions between jobs: re-cleaning with another
# top-k or class map (the usual next step) then costs only the comparison. Keyed by file path, size
# and modification time, so a replaced file is predicted again.
@lru_cache(maxsize=2)
def _cached_classifier(name: str, inception_weights: str, device: str):
    return load_image_classifier(name, inception_weights, device)


_SOUND_CACHE: OrderedDict = OrderedDict()
SOUND_CACHE_SIZE = 4096  # 1000 float32 each: 16 MB at most


def _sound_probabilities(soundnet, path) -> np.ndarray:
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


