"""Reads of a study's trials for the rater-facing pages: how many practice trials the entry page
announces, and the assignment a media request is for."""
from __future__ import annotations

from ..models import Assignment, AssignmentState, Participant, Study, TrialRole


def practice_count(study: Study) -> int:
    return study.trials.filter(role=TrialRole.PRACTICE).count()


def media_assignment(participant: Participant, trial_key: str) -> Assignment | None:
    """The rater's assignment `trial_key` with its stimulus, unless it expired (its media then belong
    to whoever holds the trial now); None when they hold no such trial."""
    return (Assignment.objects.select_related("trial__stimulus")
            .filter(public_key=trial_key, participant=participant)
            .exclude(state=AssignmentState.EXPIRED).first())
