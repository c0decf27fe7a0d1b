"""Verdicts on the paper's claims from per-seed values: holds, does not hold, inconclusive."""
import pytest

from gan.reports.tables import CountTable, Report, Row, Score, Table
from gan.reports.verdicts import claim_verdicts, difference_interval


def _row(variant, feature, values, label=None):
    mean = sum(values) / len(values)
    score = Score(metric="class_consistency", value=mean, std=None, n=60, classifier="domain", values=values)
    return Row(key=f"{variant}/{feature}", label=label or f"({variant}) {feature}", variant=variant,
               feature=feature, scores={"class_consistency": score})


def _report(table2_rows, table4_rows):
    return Report(dataset="d", suite_job_id=1, preset="cpu", table1=CountTable([], [], {}),
                  tables=[Table("2", "features", ["class_consistency"], table2_rows),
                          Table("4", "models", ["class_consistency"], table4_rows)],
                  volume_rows=[], class_names=[])


def test_difference_interval_is_welch():
    diff, (low, high) = difference_interval([0.8, 0.82, 0.84], [0.55, 0.6, 0.65])
    assert diff == pytest.approx(0.22)  # 0.82 - 0.60
    # Welch: se = sqrt(0.0004/3 + 0.0025/3) = 0.031, dof ~ 2.6, t ~ 3.5: half-width ~ 0.11
    assert 0.0 < low < 0.22 < high and high - low == pytest.approx(2 * (0.22 - low))
    assert difference_interval([0.5], [0.4, 0.6])[1] is None


def test_verdicts_follow_the_intervals():
    soundnet = _row("g", "soundnet", [0.90, 0.92, 0.91])
    mfcc_lower = _row("g", "mfcc", [0.60, 0.62, 0.61])
    fbank_close = _row("g", "fbank", [0.85, 0.95, 0.80])
    ladder_reversed = [_row("f", "soundnet", [0.95, 0.96, 0.94]), _row("g", "soundnet", [0.50, 0.52, 0.51])]
    verdicts = {v["claim"].split(" (")[0]: v for v in claim_verdicts(_report([mfcc_lower, soundnet], ladder_reversed))}
    assert verdicts["Table 2: SoundNet features give images of the right class more often than the others"][
        "verdict"] == "holds"
    assert verdicts["Table 4: each technique improves on the row before"]["verdict"] == "does not hold"
    unclear = claim_verdicts(_report([fbank_close, soundnet], ladder_reversed))
    assert unclear[0]["verdict"] == "inconclusive" and "[" in unclear[0]["figures"]
    one_seed = claim_verdicts(_report([_row("g", "mfcc", [0.5]), _row("g", "soundnet", [0.9])], []))
    assert one_seed[0]["verdict"] == "inconclusive" and "fewer than 2 seeds" in one_seed[0]["figures"]
    assert one_seed[1]["verdict"] == "not measured"          # no ladder trained


def test_held_out_differences_are_in_points_like_in_domain_ones():
    def held(row):
        row.scores["class_consistency@heldout"] = row.scores["class_consistency"]
        return row
    rows = [held(_row("g", "mfcc", [0.60, 0.62, 0.61])), held(_row("g", "soundnet", [0.90, 0.92, 0.91]))]
    table2 = [v for v in claim_verdicts(_report(rows, [])) if v["claim"].startswith("Table 2")]
    in_domain, held_out = table2
    assert "held-out source" in held_out["claim"]
    assert in_domain["figures"].startswith("(g) soundnet - (g) mfcc = +30.0 [")
    assert held_out["figures"].startswith("(g) soundnet - (g) mfcc = +30.0 [")
