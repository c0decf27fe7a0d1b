"""Results of a study: screening and Table 5 / Table 6 via studies.stats (reads only).

The results page, the staff API and the table CSV all call `study_results`, so they show the
same numbers (fixed bootstrap seed and size).
"""
from __future__ import annotations

from django.db.models import Count, Q

from ..models import ChosenRole, Participant, Response, Study, StudyKind, Trial, TrialRole
from ..records import StatsInputError
from ..stats import ScreeningRule, apply_screening, table5, table6
from .kinds import KINDS_BEYOND_THE_PAPER, pairwise_votes, planning_report, realism_votes, stopping_status, table_for

# Trials whose known answer screens raters: catch trials, and a realism study's qualification trials
# (practice trials shown first, with a known answer).
_KNOWN = Q(role=TrialRole.CATCH) | (Q(role=TrialRole.PRACTICE) & Q(catch_expectation__in=["real", "fake"]))

N_BOOT = 2000
SEED = 0


def _counted(study: Study):
    """The responses the tables count: never a preview's, and an incomplete rater's (one who did not
    answer every trial of their plan) only with the study's count_incomplete_raters. Counting them
    is the default: their answers are as real as anyone's and already count toward each item's
    target of votes; staff who pay only complete raters may prefer to leave them out."""
    rows = Response.objects.filter(trial__study=study, participant__is_preview=False)
    if not study.count_incomplete_raters:
        rows = rows.filter(participant__completed_at__isnull=False)
    return rows


def catch_results(study: Study) -> list[dict]:
    known = Trial.objects.filter(_KNOWN, study=study)
    rows = _counted(study).filter(trial__in=known).values_list(
        "participant_id", "trial__catch_expectation", "rating", "chosen_role")
    results = []
    for rater, expectation, rating, chosen in rows:
        if expectation == "low_rating":
            passed = rating is not None and rating <= study.catch_max_rating
        elif expectation in ("real", "fake"):  # realism: the known answer itself
            passed = chosen == expectation
        else:
            passed = chosen == ChosenRole.POSITIVE
        results.append({"rater": rater, "passed": bool(passed)})
    return results


def screening_rule(study: Study) -> ScreeningRule:
    has_catch = Trial.objects.filter(_KNOWN, study=study).exists()
    return ScreeningRule(min_catch_accuracy=study.min_catch_accuracy, min_catch_trials=1 if has_catch else 0)


def votes(study: Study) -> list[dict]:
    """Table 5 records: one per main-trial rating of a non-preview rater."""
    rows = _counted(study).filter(trial__role=TrialRole.MAIN).values_list(
        "participant_id", "trial__condition__label", "trial__stimulus__source_sound", "rating")
    return [{"rater": r, "condition": c, "item": item, "score": s} for r, c, item, s in rows]


def answers(study: Study) -> list[dict]:
    """Table 6 records: one per main-trial choice of a non-preview rater."""
    rows = _counted(study).filter(trial__role=TrialRole.MAIN).values_list(
        "participant_id", "trial_id", "trial__stimulus__sound_label", "chosen_role")
    return [{"rater": r, "item": item, "sound_class": c, "answer": a} for r, item, c, a in rows]


def screened_kind_records(study: Study) -> list[dict]:
    """A realism or pairwise study's records after screening (what its table and planner use)."""
    records = realism_votes(_counted(study)) if study.kind == StudyKind.REALISM else pairwise_votes(_counted(study))
    return apply_screening(records, catch_results(study), screening_rule(study)).records


def progress(study: Study) -> dict:
    main = Trial.objects.filter(study=study, role=TrialRole.MAIN)
    totals = main.aggregate(items=Count("id"), votes=Count("responses", filter=Q(
        responses__participant__is_preview=False)))
    complete = main.filter(vote_count__gte=study.target_votes_per_item).count()
    raters = Participant.objects.filter(study=study, is_preview=False)
    counts = raters.aggregate(
        participants=Count("pk", distinct=True),  # distinct: the responses join repeats raters
        completed=Count("pk", filter=Q(completed_at__isnull=False), distinct=True),
        incomplete_with_answers=Count("pk", filter=Q(completed_at__isnull=True, responses__isnull=False),
                                      distinct=True))
    return {
        "items": totals["items"], "target_votes_per_item": study.target_votes_per_item,
        "votes": totals["votes"], "votes_needed": totals["items"] * study.target_votes_per_item,
        "items_complete": complete, "participants": counts["participants"],
        "participants_completed": counts["completed"],
        # raters who answered some trials but not all (still going, or gone): marked in the export
        "participants_incomplete": counts["incomplete_with_answers"],
        "incomplete_counted": study.count_incomplete_raters,
    }


def study_results(study: Study) -> dict:
    """Everything the results page, the API and the table CSV show, JSON-ready."""
    if study.kind == StudyKind.REALISM:
        records = realism_votes(_counted(study))
    elif study.kind == StudyKind.PAIRWISE:
        records = pairwise_votes(_counted(study))
    else:
        records = votes(study) if study.kind == StudyKind.RATING else answers(study)
    screened = apply_screening(records, catch_results(study), screening_rule(study))
    result = {"study": {"id": study.pk, "name": study.name, "kind": study.kind, "state": study.state},
              "progress": progress(study), "screening": screened.report.to_dict(), "table": None,
              "table_note": None}
    try:
        if study.kind in KINDS_BEYOND_THE_PAPER:
            table = table_for(study, screened.records, screened.report)
        elif study.kind == StudyKind.RATING:
            order = list(study.conditions.order_by("position").values_list("label", flat=True))
            table = table5(screened.records, order, screening=screened.report)
        else:
            table = table6(screened.records, SEED, n_boot=N_BOOT, screening=screened.report)
        result["table"] = table.to_dict()
    except StatsInputError as error:  # e.g. no votes yet: the page says so instead of failing
        result["table_note"] = str(error)
    if study.kind in KINDS_BEYOND_THE_PAPER:
        result["stopping"] = stopping_status(study, result["table"], screened.report.raters_after)
        result["planning"] = planning_report(screened.records, study.kind) if screened.records else []
    return result


