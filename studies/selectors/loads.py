"""Reads of trial loads: a study's main trials as design slots (what a join chooses from), and the
loads recounted from the assignments (what `Trial.load` must equal)."""
from __future__ import annotations

from collections import defaultdict

from django.db.models import Count

from ..design import Slot
from ..models import Assignment, AssignmentState, Study, Trial, TrialRole


def main_slots(study: Study, *, exclude_trials=(), with_room: bool = True) -> list[Slot]:
    """The study's main trials as design slots (one query over its trial rows)."""
    rows = Trial.objects.filter(study=study, role=TrialRole.MAIN)
    if with_room:
        rows = rows.filter(load__lt=study.target_votes_per_item)
    if exclude_trials:
        rows = rows.exclude(pk__in=list(exclude_trials))
    fields = ("pk", "condition_id", "other_condition_id", "stimulus__sound_label", "stimulus__source_sound",
              "stimulus_id", "load", "left_load")
    # A pairwise trial's condition is its pair of models, so raters see every pair equally often.
    return [Slot(trial=pk, condition=(condition, other) if other else condition, sound_class=label,
                 item=sound or f"stimulus-{stimulus}", load=load, left_load=left)
            for pk, condition, other, label, sound, stimulus, load, left in rows.values_list(*fields)]


def live_loads(study: Study) -> dict[int, int]:
    """Loads recounted from the assignments (for checks and tests; joins read `Trial.load`)."""
    rows = (Assignment.objects.filter(trial__study=study, counts_toward_target=True,
                                      state__in=[AssignmentState.ANSWERED, AssignmentState.ACTIVE])
            .values("trial_id").annotate(n=Count("id")))
    return defaultdict(int, {row["trial_id"]: row["n"] for row in rows})
