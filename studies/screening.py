"""Rater screening from catch trials (issue 6, quality control).

A rule decides per rater, from their catch-trial results, whether their votes count. The report
always states raters and votes both before and after screening (ITU-T P.800.2 asks for the
exclusions to be reported with a MOS). Pure Python: no Django import.
"""
from __future__ import annotations

import numbers
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

from studies.records import JsonMixin, StatsInputError, field_of


@dataclass(frozen=True)
class ScreeningRule:
    """Keep a rater when they answered enough catch trials and passed enough of them.

    min_catch_accuracy: share of catch trials passed, 0-1 (P.808-style gold questions).
    min_catch_trials: fewer catch trials answered than this excludes the rater (0 keeps raters
        who saw none, since there is then no evidence against them).
    manual_exclusions: raters a researcher excluded by hand (stated as such in the report).
    """

    min_catch_accuracy: float = 0.8
    min_catch_trials: int = 1
    manual_exclusions: tuple = field(default_factory=tuple)

    def __post_init__(self):
        accuracy = self.min_catch_accuracy
        if isinstance(accuracy, bool) or not isinstance(accuracy, numbers.Real) or not 0 <= accuracy <= 1:
            raise StatsInputError(f"min_catch_accuracy must be a number in 0-1, got {accuracy!r}")
        trials = self.min_catch_trials
        if isinstance(trials, bool) or not isinstance(trials, numbers.Integral) or trials < 0:
            raise StatsInputError(f"min_catch_trials must be a whole number >= 0, got {trials!r}")
        object.__setattr__(self, "manual_exclusions", tuple(self.manual_exclusions))


@dataclass
class RaterExclusion(JsonMixin):
    rater: Any
    reason: str
    catch_passed: int
    catch_total: int


@dataclass
class ScreeningResult(JsonMixin):
    kept: list
    excluded: list[RaterExclusion]
    rule: dict


@dataclass
class ScreeningReport(JsonMixin):
    raters_before: int
    raters_after: int
    votes_before: int                  # votes or answers, whichever records were screened
    votes_after: int
    excluded: list[RaterExclusion]
    rule: dict


@dataclass
class ScreenedRecords:
    records: list                      # the kept records, in their original order
    report: ScreeningReport


def _catch_counts(catch_results: Iterable) -> dict[Any, list[int]]:
    counts: dict[Any, list[int]] = defaultdict(lambda: [0, 0])  # rater -> [passed, total]
    for index, result in enumerate(catch_results):
        rater = field_of(result, "rater", index, "catch result")
        passed = field_of(result, "passed", index, "catch result")
        # numpy.bool_ is not a bool subclass; accept it, but not 0/1 or "yes", which hide mistakes.
        if not isinstance(passed, bool) and type(passed).__name__ != "bool_":
            raise StatsInputError(f"catch result {index}: 'passed' must be True or False, got {passed!r}")
        counts[rater][0] += bool(passed)
        counts[rater][1] += 1
    return counts


def _reason(rater, passed: int, total: int, rule: ScreeningRule) -> str | None:
    if rater in rule.manual_exclusions:
        return "excluded by the researcher"
    if total < rule.min_catch_trials:
        return f"answered {total} catch trial(s); the rule needs at least {rule.min_catch_trials}"
    if total and passed / total < rule.min_catch_accuracy:
        return (f"passed {passed} of {total} catch trials ({passed / total:.0%}); "
                f"the rule needs at least {rule.min_catch_accuracy:.0%}")
    return None


def screen_raters(catch_results: Iterable, rule: ScreeningRule, raters: Iterable | None = None) -> ScreeningResult:
    """Split raters into kept and excluded (with reasons) by their catch-trial results.

    catch_results: records with ``rater`` and ``passed`` (bool). raters: everyone to judge (e.g.
    all raters with votes, including those who met no catch trial); default: raters in catch_results.
    """
    if not isinstance(rule, ScreeningRule):
        raise StatsInputError(f"rule must be a ScreeningRule, got {type(rule).__name__}")
    counts = _catch_counts(catch_results)
    candidates = list(dict.fromkeys(raters)) if raters is not None else list(counts)
    kept, excluded = [], []
    for rater in sorted(candidates, key=str):
        passed, total = counts.get(rater, (0, 0))
        reason = _reason(rater, passed, total, rule)
        if reason is None:
            kept.append(rater)
        else:
            excluded.append(RaterExclusion(rater=rater, reason=reason, catch_passed=passed, catch_total=total))
    return ScreeningResult(kept=kept, excluded=excluded, rule=asdict(rule))


def apply_screening(records: Iterable, catch_results: Iterable, rule: ScreeningRule) -> ScreenedRecords:
    """Drop the records (votes or answers) of raters the rule excludes; report before and after.

    Every rater with records is judged, so a rater who met fewer catch trials than the rule needs
    is excluded rather than silently kept. Catch results of raters without records are ignored.
    """
    records = list(records)
    raters = [field_of(r, "rater", i, "record") for i, r in enumerate(records)]
    result = screen_raters(catch_results, rule, raters=raters)
    kept = set(result.kept)
    kept_records = [r for r, rater in zip(records, raters) if rater in kept]
    report = ScreeningReport(
        raters_before=len(set(raters)), raters_after=len(kept & set(raters)),
        votes_before=len(records), votes_after=len(kept_records),
        excluded=result.excluded, rule=result.rule)
    return ScreenedRecords(records=kept_records, report=report)
