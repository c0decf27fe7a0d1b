"""A verdict on each of the paper's claims, computed from the seeds' intervals. Pure functions.

A comparison of two rows uses the per-seed values of each (diverged seeds left out) and the 95%
Welch interval of the difference of their means: above zero, the claim's ordering holds for that
pair; below zero, it is reversed; straddling zero, the data cannot tell (inconclusive). A claim
holds when every comparison it makes holds, does not hold when any is reversed, and is otherwise
inconclusive. Fewer than two seeds on a side gives no interval, so no verdict.
"""
from __future__ import annotations

from ..ml.intervals import difference_interval
from .tables import Report, Row, table2_variant

CLAIM_METRIC = "class_consistency"


def compare(better: Row, worse: Row, metric: str) -> dict:
    """Does `better` score above `worse`? {'outcome': 'holds' | 'reversed' | 'unclear' | 'missing', ...}"""
    a, b = better.scores.get(metric), worse.scores.get(metric)
    if a is None or b is None:
        return {"outcome": "missing", "text": f"{better.label} vs {worse.label}: not scored"}
    va, vb = a.values or [a.value], b.values or [b.value]
    diff, interval = difference_interval(va, vb)
    scale = 100 if a.metric == CLAIM_METRIC else 1   # a fraction, shown in points (on every split)
    if interval is None:
        outcome = "unclear"
        text = f"{better.label} - {worse.label} = {scale * diff:+.1f} (fewer than 2 seeds: no interval)"
    else:
        outcome = "holds" if interval[0] > 0 else "reversed" if interval[1] < 0 else "unclear"
        text = (f"{better.label} - {worse.label} = {scale * diff:+.1f} "
                f"[{scale * interval[0]:+.1f}, {scale * interval[1]:+.1f}]")
    return {"outcome": outcome, "text": text}


def _verdict(claim: str, comparisons: list[dict], extra: str = "") -> dict:
    outcomes = {c["outcome"] for c in comparisons}
    if not comparisons or outcomes == {"missing"}:
        verdict = "not measured"
    elif "reversed" in outcomes:
        verdict = "does not hold"
    elif outcomes == {"holds"}:
        verdict = "holds"
    else:
        verdict = "inconclusive"
    figures = "; ".join(c["text"] for c in comparisons) + (f". {extra}" if extra else "")
    return {"claim": claim, "verdict": verdict, "figures": figures}


def _not_measured(claim: str, why: str) -> dict:
    return {"claim": claim, "verdict": "not measured", "figures": why}


def claim_verdicts(report: Report) -> list[dict]:
    """Verdicts on Table 2 (SoundNet best), Table 4 (the ladder), Table 3 (volume) and cleaning."""
    out = []
    splits = [("", "in-domain test sounds"), ("@heldout", "sounds from a held-out source")]
    table2 = next((t for t in report.tables if t.number == "2"), None)
    table4 = next((t for t in report.tables if t.number == "4"), None)
    for suffix, words in splits:
        metric = CLAIM_METRIC + suffix
        if not any(metric in r.scores for t in report.tables for r in t.rows):
            continue                       # e.g. no held-out source in this dataset
        rows2 = table2.rows if table2 else []
        soundnet = next((r for r in rows2 if r.feature == "soundnet"), None)
        others = [r for r in rows2 if r.feature != "soundnet"]
        claim = f"Table 2: SoundNet features give images of the right class more often than the others ({words})"
        if soundnet is None or not others:
            out.append(_not_measured(claim, f"the suite did not train variant {table2_variant(rows2)} with SoundNet "
                                            "and another feature"))
        else:
            ceilings = "; ".join(
                f"linear probe {r.label} {100 * r.ceilings[suffix[1:] or 'test']['accuracy']:.1f}%"
                for r in rows2 if r.ceilings.get(suffix[1:] or "test"))
            out.append(_verdict(claim, [compare(soundnet, other, metric) for other in others], ceilings))
        ladder = [r for r in (table4.rows if table4 else []) if r.variant]
        claim = f"Table 4: each technique improves on the row before ({' < '.join(r.variant for r in ladder)}; {words})"
        if len(ladder) < 2:
            out.append(_not_measured(claim, "fewer than two Table 4 rows were trained"))
        else:
            out.append(_verdict(claim, [compare(upper, lower, metric) for lower, upper in zip(ladder, ladder[1:])]))
    main = next((r for r in (table4.rows if table4 else []) if r.variant == "g" and r.volume), None)
    if main is not None:
        volume = main.volume
        per_volume = ", ".join(f"x{k}: {100 * v['mean']:.1f}%" for k, v in volume["per_volume"].items())
        text = (f"Spearman rho between |log volume| and the change of the image "
                f"{volume['spearman_rho']:+.2f}" + (f" [{volume['ci'][0]:+.2f}, {volume['ci'][1]:+.2f}]"
                                                    if volume["ci"] else " (one seed: no interval)")
                + f" over {volume['seeds']} seed(s), {volume['n_sounds']} test sounds; mean pixel change {per_volume}")
        interval = volume["ci"]
        verdict = ("inconclusive" if interval is None else "holds" if interval[0] > 0
                   else "does not hold" if interval[1] < 0 else "inconclusive")
        out.append({"claim": "Table 3: the further the volume from the original, the more the image changes "
                             f"({main.label}, {main.feature})", "verdict": verdict, "figures": text})
    else:
        out.append(_not_measured("Table 3: the further the volume from the original, the more the image changes",
                                 "no row g with images at several volumes"))
    out.append(_not_measured("Data cleaning helps (the paper trained on cleaned pairs)",
                             "this suite trains on a dataset that is clean by construction; compare a suite on a "
                             "cleaned and an uncleaned import of the same videos to test it"))
    return out
