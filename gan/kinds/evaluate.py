"""The `evaluate` job: Inception-style score, FID and class consistency of one image set, stored as
Evaluation rows in one transaction at the end (see gan/services/scoring.py for the classifiers and
what is checked at launch)."""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

import numpy as np
from django.conf import settings
from django.db import transaction

from jobs.context import JobContext

from ..media_paths import media_path, media_relative
from ..ml import metrics as scores
from ..ml.device import resolve_device
from ..ml.media import read_image
from ..ml.paired_arrays import class_index
from ..ml.classifiers import (load_domain_classifier, load_efficientnet_lite0, load_fid_feature_extractor,
                              load_inception_v3, train_domain_classifier)
from ..ml.weights import WeightsMissing
from ..models import Checkpoint, Dataset, Evaluation, ImageSource, Metric, Split
from ..selectors.datasets import class_order_key, real_pairs, usable_pairs
from ..selectors.images import generated_images
from ..services.datasets import load_images
from ..services.scoring import (EvaluateParams, EvaluationError, check_evaluation, check_image_count, class_index_map,
                                scored_target)

# The domain classifier's recipe; part of its cache key, so changing it retrains.
DOMAIN_CLASSIFIER_SETTINGS = {"epochs": 15, "width": 32, "input_size": 32, "seed": 0}


@dataclass
class ImageSet:
    """uint8 NCHW images in the paper's order (class by class), with their class indices."""

    images: np.ndarray
    labels: np.ndarray
    description: str


def load_generated(checkpoint: Checkpoint, split: str, volume: float, seed: int, channels: int) -> ImageSet:
    rows = list(generated_images(checkpoint, split, volume, seed))
    dataset = checkpoint.run.dataset
    key = class_order_key(dataset.class_names)
    rows.sort(key=lambda r: key(r.sound_label, r.source_pair_id or r.pk))
    arrays = [read_image(media_path(row.image.name), channels=channels, channels_first=True) for row in rows]
    index = class_index(dataset.class_names)
    images = np.stack(arrays) if arrays else np.empty((0, channels, 1, 1), np.uint8)
    return ImageSet(images, np.array([index[r.sound_label] for r in rows], dtype=np.int64),
                    f"{len(rows)} images of checkpoint {checkpoint.pk} (volume {volume:g}, seed {seed}, "
                    f"{split} sounds)")


def load_real(dataset: Dataset, split: str) -> ImageSet:
    pairs = real_pairs(dataset, split)
    index = class_index(dataset.class_names)
    images = load_images(pairs, dataset.image_size, dataset.channels)
    return ImageSet(images, np.array([index[p.label] for p in pairs], dtype=np.int64),
                    f"{len(pairs)} real {split} images of {dataset.name}")


def _device() -> str:
    return str(resolve_device())


def domain_classifier_path(dataset: Dataset):
    """Cache file of the dataset's domain classifier; its name hashes the training images and recipe."""
    train_ids = list(usable_pairs(dataset, Split.TRAIN).values_list("pk", flat=True))
    key = json.dumps({"pairs": train_ids, "size": dataset.image_size, "channels": dataset.channels,
                      "classes": dataset.class_names, **DOMAIN_CLASSIFIER_SETTINGS}, sort_keys=True)
    digest = hashlib.sha1(key.encode()).hexdigest()[:12]
    return media_path("classifiers") / dataset.name / f"domain-{digest}.pt"


def domain_classifier(dataset: Dataset, log=print):
    """The dataset's domain classifier: loaded from the cache, or trained on its real TRAIN images.

    Returns (classifier, info) where info holds its held-out accuracy on the real TEST images.
    """
    path = domain_classifier_path(dataset)
    info_path = path.with_suffix(".json")
    if path.is_file() and info_path.is_file():
        return load_domain_classifier(path, device=_device()), json.loads(info_path.read_text())
    train = load_real(dataset, Split.TRAIN)
    if len(set(train.labels.tolist())) < 2:
        raise EvaluationError(f"dataset {dataset.name!r} needs real training images of at least 2 classes "
                              "to train its domain classifier")
    log(f"training the domain classifier on {len(train.labels)} real train images")
    classifier = train_domain_classifier(train.images, train.labels, class_names=dataset.class_names,
                                         device=_device(), **DOMAIN_CLASSIFIER_SETTINGS)
    test = load_real(dataset, Split.TEST)
    info = {"n_train": int(len(train.labels)), "train_accuracy": classifier.report.train_accuracy,
            "test_accuracy": classifier.accuracy(test.images, test.labels) if len(test.labels) else None,
            "n_test": int(len(test.labels)), "recipe": DOMAIN_CLASSIFIER_SETTINGS,
            "path": media_relative(path)}
    classifier.save(path)
    info_path.write_text(json.dumps(info, indent=2))
    return classifier, info


def load_classifier(name: str, dataset: Dataset, log=print):
    """(classifier, info) for one of CLASSIFIERS."""
    try:
        if name == "domain":
            return domain_classifier(dataset, log)
        if name == "efficientnet-lite0":
            return load_efficientnet_lite0(device=_device()), {}
        return load_inception_v3(weights_dir=settings.WEIGHTS_DIR, device=_device()), {}
    except (WeightsMissing, FileNotFoundError) as exc:
        raise EvaluationError(f"weights missing: {exc}") from exc


def predict_classes(classifier, probs: np.ndarray, dataset: Dataset, classifier_name: str, class_map: dict,
                    closed_set: bool) -> np.ndarray:
    """Dataset class index per image (-1 = none of the dataset's classes)."""
    if classifier_name == "domain":  # its outputs are the dataset's classes
        return probs.argmax(axis=1)
    mapping = class_index_map(classifier.name, classifier.class_names, dataset, class_map)
    return scores.class_predictions(probs, mapping, len(dataset.class_names), closed_set=closed_set)


def _fid_features(extractor, image_set: ImageSet) -> np.ndarray:
    return extractor.features(image_set.images)


def fid_reference(dataset: Dataset, extractor) -> tuple[np.ndarray, np.ndarray]:
    """FID features of the real TEST images and their class indices, cached on disk per dataset and test set."""
    test = real_pairs(dataset, Split.TEST)
    digest = hashlib.sha1(json.dumps([p.pk for p in test] + [dataset.image_size, dataset.channels])
                          .encode()).hexdigest()[:12]
    path = media_path("classifiers") / dataset.name / f"fid-test-{digest}.npy"
    index = class_index(dataset.class_names)
    labels = np.array([index[p.label] for p in test], dtype=np.int64)
    if path.is_file():
        return np.load(path), labels
    features = _fid_features(extractor, load_real(dataset, Split.TEST))
    path.parent.mkdir(parents=True, exist_ok=True)
    np.save(path, features)
    return features, labels


def per_class_fid(features: np.ndarray, labels: np.ndarray, reference: np.ndarray, reference_labels: np.ndarray,
                  class_names) -> dict:
    """FID of each class's images against the real test images of that class (classes with 2+ of both)."""
    out = {}
    for index, name in enumerate(class_names):
        mine, theirs = features[labels == index], reference[reference_labels == index]
        if len(mine) >= 2 and len(theirs) >= 2:
            out[name] = {"fid": scores.fid_from_features(mine, theirs), "n": int(len(mine)),
                         "n_reference": int(len(theirs))}
    return out


def run_evaluation(ctx: JobContext, p: EvaluateParams) -> dict:
    check_evaluation(p)
    checkpoint, dataset = scored_target(p)
    ctx.progress(0, 3, message="loading images", force=True)
    if checkpoint is not None:
        channels = checkpoint.run.model_config.get("channels", dataset.channels)
        image_set = load_generated(checkpoint, p.split, p.volume, p.seed, channels)
    else:
        image_set = load_real(dataset, p.split)
    what = "generated images" if checkpoint else f"real {p.split} images"
    check_image_count(p, len(image_set.labels), what)
    ctx.log(image_set.description)
    base = dict(dataset=dataset, checkpoint=checkpoint, n_images=len(image_set.labels),
                source=ImageSource.GENERATED if checkpoint else ImageSource.REAL, split=p.split,
                volume=p.volume if checkpoint else None, seed=p.seed if checkpoint else None, job_id=ctx.job_id)
    rows: list[Evaluation] = []

    if {"inception_score", "class_consistency"} & set(p.metrics):
        ctx.progress(1, 3, message=f"classifier {p.classifier}", force=True)
        classifier, info = load_classifier(p.classifier, dataset, ctx.log)
        ctx.check_cancelled()
        probs = classifier.predict_proba(image_set.images, device=_device())
        label = classifier.name if p.classifier != "domain" else f"domain-cnn ({dataset.name})"
        details = {"classifier": info} if info else {}
        if "inception_score" in p.metrics:
            result = scores.inception_score(probs, splits=p.splits, order=p.order, seed=p.order_seed)
            rows.append(Evaluation(**base, metric=Metric.INCEPTION_SCORE, classifier=label, order=p.order,
                                   order_seed=result.seed, splits=p.splits, value=result.mean, std=result.std,
                                   per_split=list(result.per_split),
                                   details={**details, "std_sample": result.std_sample}))
        if "class_consistency" in p.metrics:
            predicted = predict_classes(classifier, probs, dataset, p.classifier, p.class_map, p.closed_set)
            consistency = scores.class_consistency(predicted, image_set.labels, dataset.class_names)
            per_class = {name: {"share": consistency.per_class.get(name), "n": n}
                         for name, n in consistency.per_class_n.items()}
            closed = p.closed_set and p.classifier != "domain"
            extra = {**({"class_map": p.class_map} if p.class_map else {}), **({"closed_set": True} if closed else {})}
            rows.append(Evaluation(**base, metric=Metric.CLASS_CONSISTENCY,
                                   classifier=f"{label}, closed set" if closed else label,
                                   value=consistency.overall, per_class=per_class, details={**details, **extra}))
    if "fid" in p.metrics:
        ctx.progress(2, 3, message="FID features", force=True)
        extractor = load_fid_feature_extractor(device=_device())
        reference, reference_labels = fid_reference(dataset, extractor)
        scored = image_set if checkpoint else load_real(dataset, Split.TRAIN)
        ctx.check_cancelled()
        features = _fid_features(extractor, scored)
        value = scores.fid_from_features(features, reference)
        scored_base = {**base, "n_images": len(scored.labels), "split": p.split if checkpoint else Split.TRAIN}
        rows.append(Evaluation(**scored_base, metric=Metric.FID, classifier=extractor.name, value=value,
                               per_class=per_class_fid(features, scored.labels, reference, reference_labels,
                                                       dataset.class_names),
                               details={"reference": f"real test images of {dataset.name}",
                                        "n_reference": int(len(reference))}))
        # Within-class spread of the same features, beside the real test images' own spread: a
        # generator that ignores z scores far below the real images (mode collapse made visible).
        try:
            mine = scores.within_class_diversity(features, scored.labels)
            real = scores.within_class_diversity(reference, reference_labels)
        except scores.MetricInputError as exc:
            ctx.log(f"diversity not computed: {exc}")
        else:
            names = dataset.class_names
            rows.append(Evaluation(**scored_base, metric=Metric.DIVERSITY, classifier=extractor.name,
                                   value=mine["value"],
                                   per_class={names[k]: {"value": v, "n": int((scored.labels == k).sum())}
                                              for k, v in mine["per_class"].items()},
                                   details={"real_test": real["value"], "ratio_to_real": mine["value"] / real["value"],
                                            "what": "mean pairwise distance of Inception pool features "
                                                    "within a class, averaged over classes"}))
    ctx.check_cancelled()
    with transaction.atomic():
        for row in rows:
            row.save()
    summary = {row.metric: {"value": round(row.value, 4), **({"std": round(row.std, 4)} if row.std is not None else {}),
                            "n": row.n_images, "classifier": row.classifier} for row in rows}
    ctx.log("; ".join(f"{k} {v['value']}" for k, v in summary.items()))
    ctx.progress(3, 3, message=f"{len(rows)} score(s) stored")
    return {"evaluation_ids": [row.pk for row in rows], "scores": summary}

