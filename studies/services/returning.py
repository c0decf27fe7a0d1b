"""Raters coming back: expired trials given back where their trial still has room, and trials that
went to someone else replaced by free ones.

Calling in renews no hold: only an answer does (studies.services.holds). An open page that only
calls in (`resume_participant`) gets back expired trials (short holds again) while the rater's last
progress is within the TTL, and past that only the next trial, so a script that joins and pings
holds at most one trial.
"""
from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from ..design import choose_sides, pick_balanced
from ..models import Assignment, AssignmentState, Participant, StudyState, TrialRole
from ..selectors.loads import main_slots
from .assignment import new_rng, reserve
from .holds import join_hold, progress_cap, ttl
from .loads import take_slots


def has_expired(participant: Participant) -> bool:
    return Assignment.objects.filter(participant=participant, state=AssignmentState.EXPIRED).exists()


def reactivate(participant: Participant, assignments: list[Assignment], now, *, until=None) -> set[int]:
    """Give expired assignments back to their rater where their trial still has room (held until
    `until`, default the TTL); the others are withdrawn from the rater's plan for good (a top-up
    replaces them). Returns the ids reactivated."""
    study = participant.study
    expires_at = until or now + ttl(study)
    with transaction.atomic():
        # Locked and re-read first: a concurrent resume of the same rater must not take a slot twice.
        still = set(Assignment.objects.select_for_update().filter(
            pk__in=[a.pk for a in assignments], state=AssignmentState.EXPIRED).values_list("pk", flat=True))
        assignments = [a for a in assignments if a.pk in still]
        counted = [a for a in assignments if a.counts_toward_target and a.trial.role == TrialRole.MAIN]
        free = [a for a in assignments if a not in counted]
        left = {a.trial_id for a in counted if a.positive_side == "left"}
        granted = set(take_slots(study, [a.trial_id for a in counted], left)) if counted else set()
        back = [a.pk for a in free] + [a.pk for a in counted if a.trial_id in granted]
        gone = [a.pk for a in counted if a.trial_id not in granted]
        Assignment.objects.filter(pk__in=back, state=AssignmentState.EXPIRED).update(
            state=AssignmentState.ACTIVE, expires_at=expires_at)
        Assignment.objects.filter(pk__in=gone, state=AssignmentState.EXPIRED).update(state=AssignmentState.WITHDRAWN)
    return set(back)


def _top_up(participant: Participant, now, *, until, limit: int | None = None) -> None:
    """Main trials withdrawn from a returning rater are replaced by free ones, balanced with the rest
    (at most `limit` of them), held until `until`."""
    study = participant.study
    held_rows = list(Assignment.objects.filter(participant=participant, trial__role=TrialRole.MAIN)
                     .exclude(state=AssignmentState.WITHDRAWN).values_list("trial_id", flat=True))
    missing = participant.planned_main_trials - len(held_rows)
    if limit is not None:
        missing = min(missing, limit)
    if missing <= 0:
        return
    taken = set(Assignment.objects.filter(participant=participant).values_list("trial_id", flat=True))
    all_main = {s.trial: s for s in main_slots(study, with_room=False)}
    held = [all_main[t] for t in held_rows if t in all_main]
    rng = new_rng()
    candidates = [s for s in main_slots(study, exclude_trials=taken, with_room=not participant.is_preview)]
    picked = pick_balanced(candidates, missing, rng, held=held)
    if not picked:
        return
    last = Assignment.objects.filter(participant=participant).order_by("-position").values_list(
        "position", flat=True).first() or 0
    sides = choose_sides(picked, rng) if study.shows_two_images else {}
    reserve(participant, picked, list(range(last + 1, last + 1 + len(picked))), sides, until)


def resume_participant(participant: Participant, *, now=None) -> None:
    """The rater page is open (page load, every few minutes, and when its trials run out): give back
    expired trials where there is room and replace the ones that went to someone else.

    Calling in renews no hold: only an answer does. Trials given back are held for the join hold,
    so the rater must answer to keep them. Past the rater's progress cap (`progress_cap`) only the
    next trial comes back, enough for an honest rater back from a long pause to continue (their
    answer renews the rest and the next call gives back the others), too little for a script that
    pings without answering to hoard a study.
    """
    now = now or timezone.now()
    study = participant.study
    if not (study.state == StudyState.OPEN or participant.is_preview):
        return
    if not has_expired(participant):
        return
    with transaction.atomic():
        # One resume at a time, and the rater's progress as it is now (not a cached copy).
        locked = Participant.objects.select_for_update().filter(pk=participant.pk).values(
            "last_active_at", "created_at").first()
        if locked is None:
            return
        participant.last_active_at = locked["last_active_at"]
        expired = list(Assignment.objects.filter(participant=participant, state=AssignmentState.EXPIRED)
                       .select_related("trial").order_by("position"))
        within = participant.is_preview or now < progress_cap(participant)
        until = now + (ttl(study) if participant.is_preview else join_hold(study))
        if within:
            reactivate(participant, expired, now, until=until)
            _top_up(participant, now, until=until)
            return
        if Assignment.objects.filter(participant=participant, state=AssignmentState.ACTIVE,
                                     expires_at__gt=now).exists():
            return  # already holds its next trial
        if not reactivate(participant, expired[:1], now, until=until):
            _top_up(participant, now, until=until, limit=1)
