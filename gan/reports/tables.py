"""The report's shape: tables of rows of scores, each score carrying what it needs to be trusted
(n, classifier, split convention, the checkpoint it came from). Plain dataclasses, no Django."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

from ..ml.intervals import mean_interval  # noqa: F401  (the reports' name for it)

METRIC_TITLES = {"inception_score": "Inception Score", "class_consistency": "Class consistency",
                 "fid": "FID", "diversity": "Diversity",
                 "class_consistency@heldout": "Class consistency, held-out source",
                 "fid@heldout": "FID, held-out source", "diversity@heldout": "Diversity, held-out source"}
METRIC_ORDER = ("inception_score", "class_consistency", "fid", "diversity", "class_consistency@heldout",
                "fid@heldout", "diversity@heldout")
SPLIT_WORDS = {"heldout": "sounds (or images) from a held-out source"}   # 'test' is the default, unnamed


def metric_key(metric: str, split: str) -> str:
    """Column key of a score: the metric, with '@heldout' for scores on held-out-source sounds."""
    return metric if split in ("test", "train", "all", "") else f"{metric}@{split}"


@dataclass
class Score:
    metric: str
    value: float
    std: float | None
    n: int
    classifier: str
    order: str = ""  # IS split convention: 'paper' (class-ordered) or 'shuffled'
    splits: int | None = None
    order_seed: int | None = None
    evaluation_id: int | None = None
    per_class: dict = field(default_factory=dict)  # class consistency: {class: {share, n}}
    split: str = "test"  # the sounds (generated) or images (real) scored
    # Across seeds (one training run per seed): the per-seed values, their mean in `value` and the
    # 95% t-interval of that mean. Empty / None for a single run.
    values: list = field(default_factory=list)
    ci: tuple | None = None

    def _number(self, value: float) -> str:
        return f"{100 * value:.1f}%" if self.metric == "class_consistency" else f"{value:.2f}"

    def text(self) -> str:
        if self.values and len(self.values) > 1:
            low, high = self.ci
            return f"{self._number(self.value)} [{self._number(low)}, {self._number(high)}]"
        if self.metric == "class_consistency":
            return f"{100 * self.value:.1f}%"
        if self.std is not None:
            return f"{self.value:.2f} ± {self.std:.2f}"
        return f"{self.value:.2f}"

    def convention(self) -> str:
        """How the number was computed, in words (every table states it)."""
        seeds = (f"; mean over {len(self.values)} seeds [95% t-interval across seeds]"
                 if len(self.values) > 1 else "")
        on = f" on {SPLIT_WORDS.get(self.split, self.split)}" if self.split in SPLIT_WORDS else ""
        if self.metric == "inception_score":
            how = ("class-ordered, no shuffle (paper)" if self.order == "paper"
                   else f"shuffled with seed {self.order_seed}")
            spread = "" if seeds else "; mean ± population std over splits"
            return f"{self.classifier}; {self.splits} splits, {how}{spread}{on}{seeds}"
        if self.metric == "fid":
            return f"{self.classifier}; against the real test images{on}{seeds}"
        if self.metric == "diversity":
            return (f"{self.classifier}; mean pairwise feature distance within a class{on} "
                    f"(real test images: see notes){seeds}")
        how = ("most probable of the dataset's classes" if "closed set" in self.classifier else "top-1 class")
        return f"{self.classifier}; {how} == class of the sound{on}{seeds}"


@dataclass
class Row:
    key: str  # 'g/mfcc', 'real', ...
    label: str  # what the paper's table calls it
    variant: str = ""
    feature: str = ""
    run_id: int | None = None
    checkpoint_id: int | None = None
    checkpoint_step: int | None = None
    checkpoint_path: str = ""
    scores: dict[str, Score] = field(default_factory=dict)
    images: dict[str, str] = field(default_factory=dict)  # class_grid / volume_table, under MEDIA_ROOT
    # One entry per seed of a suite row: seed, status (converged / cap / diverged ...), step picked
    # by validation, run and checkpoint ids.
    seeds: list = field(default_factory=list)
    ceilings: dict = field(default_factory=dict)  # linear-probe accuracy of the row's feature, per split
    volume: dict = field(default_factory=dict)  # how much images change with the volume (Table 3)

    def source(self) -> str:
        if len(self.seeds) > 1:
            live = [s for s in self.seeds if s["status"] != "diverged"]
            steps = ", ".join(str(s["step"]) for s in live)
            diverged = len(self.seeds) - len(live)
            return (f"{len(live)} seed(s), steps {steps or '-'}" + (f", {diverged} diverged" if diverged else "")
                    + "; " + ", ".join(f"seed {s['seed']}: {s['status']}" for s in self.seeds))
        if self.checkpoint_id is None:
            return "real images"
        return f"checkpoint #{self.checkpoint_id} (run #{self.run_id}, step {self.checkpoint_step})"


@dataclass
class Table:
    number: str
    title: str
    metrics: list[str]
    rows: list[Row]
    notes: list[str] = field(default_factory=list)

    def conventions(self) -> list[str]:
        """Distinct computation conventions of the numbers in this table, per metric."""
        seen = []
        for row in self.rows:
            for metric in self.metrics:
                score = row.scores.get(metric)
                if score is not None:
                    line = f"{metric_title(metric)}: {score.convention()}"
                    if line not in seen:
                        seen.append(line)
        return seen


def table2_variant(rows2: list[Row]) -> str:
    """The model of Table 2's rows: the paper's g unless the suite asked for another (e.g. h-cbn)."""
    return next((r.variant for r in rows2 if r.variant), "g")


@dataclass
class CountTable:
    """Table 1: pairs per class and split (and how many cleaning discarded)."""

    TITLE = "Table 1. Pairs per class and split"  # the cleaning's own is selectors.datasets.TABLE1_TITLE

    classes: list[str]
    columns: list[str]
    counts: dict[str, dict[str, int]]

    def totals(self) -> dict[str, int]:
        return {c: sum(self.counts[k].get(c, 0) for k in self.classes) for c in self.columns}


def metric_title(key: str) -> str:
    return METRIC_TITLES.get(key, key)


@dataclass
class Report:
    dataset: str
    suite_job_id: int | None
    preset: str
    table1: CountTable
    tables: list[Table]  # Tables 2 and 4
    volume_rows: list[Row]  # Table 3 (images)
    class_names: list[str]
    notes: list[str] = field(default_factory=list)
    verdicts: list = field(default_factory=list)  # one per paper claim (reports/verdicts.py)

    def table(self, number: str) -> Table:
        return next(t for t in self.tables if t.number == number)

    def as_dict(self) -> dict:
        data = asdict(self)
        data["tables"] = [dict(asdict(t), conventions=t.conventions()) for t in self.tables]
        return data
