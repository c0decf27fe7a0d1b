"""The ablation ladder: one score per Table 4 row with error bars, as PNG bytes (matplotlib).

Error bars: for a suite row trained with several seeds, the 95% t-interval of the mean across seeds
(dots: the seeds). For a single run: Inception Score ± its std over splits (the paper's convention);
class consistency with its 95% Wilson interval over the n images (statsmodels); FID has no bar.
"""
from __future__ import annotations

import io

from ..ml.intervals import wilson_interval
from .tables import METRIC_TITLES, Table


def _interval(score) -> tuple[float, float]:
    """(below, above) distances from the value to the ends of its error bar."""
    if score.ci is not None:          # a mean over seeds: its 95% t-interval across seeds
        return max(0.0, score.value - score.ci[0]), max(0.0, score.ci[1] - score.value)
    if score.metric == "class_consistency":
        low, high = wilson_interval(round(score.value * score.n), score.n)
        return max(0.0, score.value - low), max(0.0, high - score.value)
    if score.std is not None:
        return score.std, score.std
    return 0.0, 0.0


def ladder_chart(table: Table, metrics: list[str] | None = None) -> bytes:
    """One panel per metric; x = the table's rows in order, y = score with error bars."""
    # The object-oriented API with the Agg canvas: no pyplot state, safe in web and worker threads.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    metrics = [m for m in (metrics or table.metrics) if any(m in r.scores for r in table.rows)]
    if not metrics:
        raise ValueError(f"table {table.number} has no scores to plot yet")
    figure = Figure(figsize=(4.2 * len(metrics), 3.8), dpi=100)
    FigureCanvasAgg(figure)
    for index, metric in enumerate(metrics):
        axes = figure.add_subplot(1, len(metrics), index + 1)
        rows = [r for r in table.rows if metric in r.scores]
        values = [r.scores[metric].value for r in rows]
        bars = [_interval(r.scores[metric]) for r in rows]
        positions = list(range(len(rows)))
        colours = ["#999999" if r.checkpoint_id is None else "#3465a4" for r in rows]
        axes.bar(positions, values, color=colours, width=0.6)
        axes.errorbar(positions, values, yerr=[[b[0] for b in bars], [b[1] for b in bars]], fmt="none",
                      ecolor="black", capsize=4, linewidth=1)
        axes.set_xticks(positions, [r.label.split(")")[0] + ")" if r.label.startswith("(") else r.label
                                    for r in rows], fontsize=8)
        axes.set_title(METRIC_TITLES[metric], fontsize=10)
        axes.grid(axis="y", alpha=0.3)
        if metric.startswith("class_consistency"):
            axes.set_ylim(0, 1.05)
        for position, row in zip(positions, rows):   # the seeds themselves, so the spread is visible
            seeds = row.scores[metric].values
            if len(seeds) > 1:
                axes.scatter([position] * len(seeds), seeds, s=9, color="black", zorder=3)
        counts = sorted({r.scores[metric].n for r in rows})
        n_text = f"n = {counts[0]}" if len(counts) == 1 else f"n = {counts[0]}-{counts[-1]}"
        axes.set_xlabel(f"{n_text}; {rows[-1].scores[metric].classifier}", fontsize=7)
    figure.suptitle(f"Table {table.number}: {table.title}", fontsize=10)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()
