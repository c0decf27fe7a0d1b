"""A main trial's load (its counted assignments that are answered, or active until expired), taken
and given back in the same transaction as the assignments that hold it, so `Trial.load` and
`Trial.left_load` always equal what the assignments say (studies.selectors.loads.live_loads
recounts them).

Trial rows are locked in id order on both sides, so a join taking slots and an expiry giving them
back wait for each other instead of deadlocking.
"""
from __future__ import annotations

from collections import Counter

from django.db.models import Case, F, IntegerField, Value, When

from ..models import Assignment, AssignmentState, Study, Trial, TrialRole

# What give_back needs of each held assignment, in this order.
HELD_ROW_FIELDS = ("pk", "trial_id", "positive_side", "counts_toward_target", "trial__role")


def take_slots(study: Study, trial_ids: list[int], left_ids: set[int]) -> list[int]:
    """Raise the load of each trial that has room (inside the caller's transaction); returns those.

    The rows are locked in id order, so two joins taking overlapping trials wait for each other
    instead of deadlocking; a row another join filled meanwhile is re-checked after the wait.
    """
    granted = list(Trial.objects.select_for_update().filter(pk__in=trial_ids, load__lt=study.target_votes_per_item)
                   .order_by("pk").values_list("pk", flat=True))
    if granted:
        Trial.objects.filter(pk__in=granted).update(
            load=F("load") + 1,
            left_load=F("left_load") + Case(When(pk__in=list(left_ids & set(granted)), then=Value(1)), default=Value(0),
                                            output_field=IntegerField()))
    return granted


def give_back(rows) -> None:
    """Rows (HELD_ROW_FIELDS), locked by the caller: expired, their loads given back."""
    Assignment.objects.filter(pk__in=[r[0] for r in rows]).update(state=AssignmentState.EXPIRED)
    given_back, left_back = Counter(), Counter()
    for _, trial, side, counted, role in rows:
        if counted and role == TrialRole.MAIN:  # only main trials hold a load
            given_back[trial] += 1
            left_back[trial] += side == "left"
    if given_back:
        ids = sorted(given_back)
        list(Trial.objects.select_for_update().filter(pk__in=ids).order_by("pk").values_list("pk"))  # lock order
        Trial.objects.filter(pk__in=ids).update(
            load=F("load") - Case(*[When(pk=t, then=Value(n)) for t, n in given_back.items()], default=Value(0),
                                  output_field=IntegerField()),
            left_load=F("left_load") - Case(*[When(pk=t, then=Value(n)) for t, n in left_back.items() if n],
                                            default=Value(0), output_field=IntegerField()))
