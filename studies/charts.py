"""Chart-ready numbers for the staff results page: CSS bar widths from the results dict.

The page draws bars with plain HTML/CSS (no image rendering), so it can refresh itself cheaply as
answers arrive.
"""
from __future__ import annotations

SCALE_MIN, SCALE_MAX = 1.0, 5.0


def _pct_on_scale(value: float | None) -> float:
    if value is None:
        return 0.0
    return max(0.0, min(100.0, 100.0 * (value - SCALE_MIN) / (SCALE_MAX - SCALE_MIN)))


def _table5_rows(table: dict) -> list[dict]:
    rows = []
    for row in table["conditions"]:
        low, high = row["ci_low"], row["ci_high"]
        rows.append({**row, "bar_pct": _pct_on_scale(row["mean"]),
                     "ci_left_pct": _pct_on_scale(low), "ci_width_pct":
                     (_pct_on_scale(high) - _pct_on_scale(low)) if low is not None and high is not None else 0.0})
    return rows


def _share_row(row: dict) -> dict:
    return {**row, "positive_pct": 100 * row["positive_share"], "negative_pct": 100 * row["negative_share"],
            "neither_pct": 100 * row["neither_share"]}


def chart_context(results: dict) -> dict:
    progress = results["progress"]
    needed = progress["votes_needed"] or 1
    context = {"results": results, "progress": progress, "screening": results["screening"],
               "progress_pct": min(100.0, 100.0 * progress["votes"] / needed), "table": results["table"],
               "table_note": results["table_note"], "rows5": [], "overall6": None, "classes6": [],
               "realism_rows": [], "pairwise": None, "stopping": results.get("stopping"),
               "planning": results.get("planning") or []}
    table = results["table"]
    if table and table["kind"] == "table5":
        context["rows5"] = _table5_rows(table)
    elif table and table["kind"] == "table6":
        context["overall6"] = _share_row(table["overall"])
        context["classes6"] = [_share_row(row) for row in table["per_class"]]
    elif table and table["kind"] == "realism":  # bars on the 0-1 error scale; 50% = indistinguishable
        context["realism_rows"] = [{**row, "error_pct": 100 * row["error"]} for row in table["rows"]]
    elif table and table["kind"] == "pairwise":
        context["pairwise"] = {"strengths": sorted(table["strengths"], key=lambda r: (r["rank"] is None, r["rank"] or 0)),
                               "pairs": [{**row, "win_pct": 100 * row["a_win_rate"]} for row in table["pairs"]]}
    return context
