"""The report's shape: tables of rows of scores, each score carrying what it needs to be trusted
(n, classifier, split convention, the checkpoint it came from). Plain dataclasses, no Django."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

METRIC_TITLES = {"inception_score": "Inception Score", "class_consistency": "Class consistency",
                 "fid": "FID"}
METRIC_ORDER = ("inception_score", "class_consistency", "fid")


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

    def text(self) -> str:
        if self.metric == "class_consistency":
            return f"{100 * self.value:.1f}%"
        if self.std is not None:
            return f"{self.value:.2f} ± {self.std:.2f}"
        return f"{self.value:.2f}"

    def convention(self) -> str:
        """How the number was computed, in words (every table states it)."""
        if self.metric == "inception_score":
            how = ("class-ordered, no shuffle (paper)" if self.order == "paper"
                   else f"shuffled with seed {self.order_seed}")
            return f"{self.classifier}; {self.splits} splits, {how}; mean ± population std over splits"
        if self.metric == "fid":
            return f"{self.classifier}; against the real test images"
        return f"{self.classifier}; top-1 class == class of the sound"


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

    def source(self) -> str:
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
                    line = f"{METRIC_TITLES[metric]}: {score.convention()}"
                    if line not in seen:
                        seen.append(line)
        return seen


@dataclass
class CountTable:
    """Table 1: pairs per class and split (and how many cleaning discarded)."""

    classes: list[str]
    columns: list[str]
    counts: dict[str, dict[str, int]]

    def totals(self) -> dict[str, int]:
        return {c: sum(self.counts[k].get(c, 0) for k in self.classes) for c in self.columns}


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

    def table(self, number: str) -> Table:
        return next(t for t in self.tables if t.number == number)

    def as_dict(self) -> dict:
        data = asdict(self)
        data["tables"] = [dict(asdict(t), conventions=t.conventions()) for t in self.tables]
        return data
