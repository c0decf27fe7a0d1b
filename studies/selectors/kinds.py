"""Records and tables of the realism and pairwise studies, their planning report and stopping rule
(reads only; studies.selectors.results dispatches to these by kind)."""
from __future__ import annotations

from collections import defaultdict

from ..models import ChosenRole, Study, StudyKind, TrialRole
from ..pairwise import pairwise_table
from ..planning import StoppingRule, recommend_raters, variance_components
from ..realism import realism_table
from ..records import StatsInputError

KINDS_BEYOND_THE_PAPER = (StudyKind.REALISM, StudyKind.PAIRWISE)


def realism_votes(counted) -> list[dict]:
    """One record per main-trial answer: the image (its stimulus) is the item; no condition = a real photo."""
    rows = counted.filter(trial__role=TrialRole.MAIN).values_list(
        "participant_id", "trial__stimulus_id", "trial__condition__label", "chosen_role")
    return [{"rater": r, "item": item, "condition": c, "answer": a} for r, item, c, a in rows]


def pairwise_votes(counted) -> list[dict]:
    """One record per main-trial answer, side-free: the sound is the item (its pairs share its effect)."""
    rows = counted.filter(trial__role=TrialRole.MAIN).values_list(
        "participant_id", "trial__stimulus__source_sound", "trial__condition__label",
        "trial__other_condition__label", "chosen_role")
    answer = {ChosenRole.POSITIVE: "a", ChosenRole.NEGATIVE: "b", ChosenRole.NEITHER: "tie"}
    return [{"rater": r, "item": item, "condition_a": a, "condition_b": b, "answer": answer[role]}
            for r, item, a, b, role in rows]


def known_answer_results(study: Study, counted) -> list[dict]:
    """Catch and qualification trials with a known realism answer: passed when the rater gave it."""
    rows = counted.filter(trial__catch_expectation__in=["real", "fake"]).exclude(
        trial__role=TrialRole.MAIN).values_list("participant_id", "trial__catch_expectation", "chosen_role")
    return [{"rater": r, "passed": expectation == chosen} for r, expectation, chosen in rows]


def table_for(study: Study, records: list[dict], screening):
    order = list(study.conditions.order_by("position").values_list("label", flat=True))
    if study.kind == StudyKind.REALISM:
        return realism_table(records, order, screening=screening)
    return pairwise_table(records, order, screening=screening)


def named_intervals(table: dict) -> dict[str, tuple]:
    """The intervals a stopping rule may name: realism 'error:<model>', 'fake:<model>', 'real';
    pairwise 'win:<a> vs <b>' and 'strength:<model>'."""
    out = {}
    if table["kind"] == "realism":
        for row in table["rows"]:
            out[f"error:{row['condition']}"] = (row["error_ci_low"], row["error_ci_high"])
            out[f"fake:{row['condition']}"] = (row["fake_ci_low"], row["fake_ci_high"])
        out["real"] = (table["real"]["ci_low"], table["real"]["ci_high"])
    elif table["kind"] == "pairwise":
        for row in table["pairs"]:
            out[f"win:{row['condition_a']} vs {row['condition_b']}"] = (row["ci_low"], row["ci_high"])
        for row in table["strengths"]:
            if not row["reference"]:
                out[f"strength:{row['condition']}"] = (row["ci_low"], row["ci_high"])
    return out


def stopping_status(study: Study, table: dict | None, n_raters: int) -> dict | None:
    """The study's stopping rule (fixed at build time) and what it says now; None without a rule."""
    rule = StoppingRule.from_params((study.build_params or {}).get("stopping"))
    if rule is None:
        return None
    if table is None:
        return {"stop": False, "reason": "no table yet", "rule": rule.to_dict(), "half_widths": {}}
    names = named_intervals(table)
    if rule.names:  # the rule names intervals the table must report; the default (every interval) is the errors/wins
        return rule.decide(names, n_raters)
    primary = {k: v for k, v in names.items() if k.startswith(("error:", "win:"))}
    return rule.decide(primary, n_raters)


def planning_components(records: list[dict], kind: str) -> dict:
    """Per named estimate, its variance components from the answers so far (or a note why none)."""
    groups: dict[str, list[tuple]] = defaultdict(list)
    if kind == StudyKind.REALISM:
        reals = [r for r in records if r["condition"] in (None, "")]
        for r in records:
            if r["condition"] not in (None, ""):
                groups[f"error:{r['condition']}"].append((r["rater"], r["item"], r["answer"] == "real", "fake"))
        for name in list(groups):
            groups[name] += [(r["rater"], r["item"], r["answer"] == "fake", "real") for r in reals]
    else:
        for r in records:
            groups[f"win:{r['condition_a']} vs {r['condition_b']}"].append(
                (r["rater"], r["item"], {"a": 1.0, "b": 0.0, "tie": 0.5}[r["answer"]], "pair"))
    out = {}
    for name, rows in sorted(groups.items()):
        try:
            out[name] = variance_components([v for _, _, v, _ in rows], [r for r, _, _, _ in rows],
                                            [i for _, i, _, _ in rows], groups=[g for _, _, _, g in rows], name=name)
        except StatsInputError as error:
            out[name] = str(error)
    return out


def planning_report(records: list[dict], kind: str, target_half_width: float = 0.05) -> list[dict]:
    """Per named estimate: variance components from the answers so far and the raters needed for
    the target half-width (each rater answering as many of its items as so far)."""
    return [{"name": name, "note": c} if isinstance(c, str) else recommend_raters(c, target_half_width).to_dict()
            for name, c in planning_components(records, kind).items()]
