"""Reads of trial loads: a study's main trials as design slots (what a join chooses from), and the
loads recounted from the assignments (what `Trial.load` must equal)."""
from __future__ import annotations

from collections import defaultdict

from django.db import connection
from django.db.models import Count

from ..design import Slot
from ..models import Assignment, AssignmentState, Study, Trial, TrialRole
from .study_design import study_design


def main_slots(study: Study, *, exclude_trials=(), with_room: bool = True) -> list[Slot]:
    """The study's main trials as design slots with their current loads, in the study's order: the
    design from the process cache (studies.selectors.study_design), the loads from one query.

    Hand-written SELECT: every join runs it, and the ORM's compiling of the query cost more than
    PostgreSQL's running of it (bench/studies_load.py's join CPU)."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT id, load, left_load FROM {connection.ops.quote_name(Trial._meta.db_table)} "
                       "WHERE study_id = %s AND role = %s", [study.pk, TrialRole.MAIN.value])
        loads = {pk: (load, left) for pk, load, left in cursor.fetchall()}
    excluded = set(exclude_trials)
    target = study.target_votes_per_item
    slots = []
    for slot in study_design(study).main:
        if slot.trial in excluded or slot.trial not in loads:  # a trial deleted since: never offered
            continue
        load, left = loads[slot.trial]
        if with_room and load >= target:
            continue
        slots.append(Slot(slot.trial, slot.condition, slot.sound_class, slot.item, load, left))
    return slots


def live_loads(study: Study) -> dict[int, int]:
    """Loads recounted from the assignments (for checks and tests; joins read `Trial.load`)."""
    rows = (Assignment.objects.filter(trial__study=study, counts_toward_target=True,
                                      state__in=[AssignmentState.ANSWERED, AssignmentState.ACTIVE])
            .values("trial_id").annotate(n=Count("id")))
    return defaultdict(int, {row["trial_id"]: row["n"] for row in rows})
