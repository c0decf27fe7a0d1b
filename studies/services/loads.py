"""A main trial's load (its counted assignments that are answered, or active until expired), taken
and given back in the same transaction as the assignments that hold it, so `Trial.load` and
`Trial.left_load` always equal what the assignments say (studies.selectors.loads.live_loads
recounts them).

Trial rows are locked in id order on both sides, so a join taking slots and an expiry giving them
back wait for each other instead of deadlocking.
"""
from __future__ import annotations

from collections import Counter

from django.db import connection
from django.db.models import Case, F, IntegerField, Value, When

from ..models import Assignment, AssignmentState, Study, Trial, TrialRole

# What give_back needs of each held assignment, in this order.
HELD_ROW_FIELDS = ("pk", "trial_id", "positive_side", "counts_toward_target", "trial__role")


def take_slots(study: Study, trial_ids: list[int], left_ids: set[int]) -> list[int]:
    """Raise the load of each trial that has room (inside the caller's transaction); returns those.

    One statement, so a join holds the trial rows for as short a time as it can: on PostgreSQL the
    rows with room are locked in id order (two joins taking overlapping trials wait for each other
    instead of deadlocking, and a row another join filled meanwhile is re-checked after the wait)
    with FOR NO KEY UPDATE, which, unlike FOR UPDATE, does not block other joins' assignment
    inserts (their foreign-key checks take KEY SHARE locks on the same rows). SQLite has one writer
    at a time. Hand-written SQL: the ORM has no UPDATE ... RETURNING.
    """
    if not trial_ids:
        return []
    table = connection.ops.quote_name(Trial._meta.db_table)
    ids = sorted(set(trial_ids))
    left = sorted(set(left_ids) & set(ids))
    lock = " FOR NO KEY UPDATE" if connection.vendor == "postgresql" else ""
    left_case = f"CASE WHEN id IN ({', '.join(['%s'] * len(left))}) THEN 1 ELSE 0 END" if left else "0"
    sql = (f"UPDATE {table} SET load = load + 1, left_load = left_load + {left_case} "
           f"WHERE id IN (SELECT id FROM {table} WHERE id IN ({', '.join(['%s'] * len(ids))}) AND load < %s "
           f"ORDER BY id{lock}) RETURNING id")
    with connection.cursor() as cursor:
        cursor.execute(sql, [*left, *ids, study.target_votes_per_item])
        return sorted(row[0] for row in cursor.fetchall())


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
