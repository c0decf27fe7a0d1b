"""Server-side, balanced assignment of trials to raters.

Invariants (tested under concurrency on PostgreSQL):
- a main trial's *load* = answered assignments + active, unexpired ones (preview raters excluded)
  never exceeds the study's target votes per item;
- every change that can raise a load (a new assignment, a reactivated one) happens while holding the
  study row's lock (SELECT ... FOR UPDATE; on SQLite the IMMEDIATE transaction serialises writers);
- answering never raises a load (active -> answered), so answers do not take the study lock; an
  answer claims its assignment with a conditional UPDATE that races safely against expiry.

Each rater gets practice trials first, then their main trials mixed with every catch trial in a
random order. Main trials are picked round-robin over strata (condition x sound class), least-loaded
first, so each rater sees an even mix and the items fill evenly. In a correlation study the side of
the image from the heard sound is chosen per trial to even out left/right across raters (ties are
broken from a balanced, shuffled per-rater sequence) and recorded on the assignment.
"""
from __future__ import annotations

import random
import secrets
from collections import defaultdict
from datetime import timedelta

from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone

from .errors import StudyFull
from .models import Assignment, AssignmentState, Participant, Study, StudyKind, StudyState, Trial, TrialRole


def ttl(study: Study) -> timedelta:
    return timedelta(minutes=study.assignment_ttl_minutes)


def _live_q(now) -> Q:
    """Assignments that hold a slot of their trial."""
    return Q(state=AssignmentState.ANSWERED) | Q(state=AssignmentState.ACTIVE, expires_at__gt=now)


def trial_loads(study: Study, now) -> dict[int, int]:
    rows = (Assignment.objects.filter(trial__study=study, counts_toward_target=True)
            .filter(_live_q(now)).values("trial_id").annotate(n=Count("id")))
    return {row["trial_id"]: row["n"] for row in rows}


def side_counts(study: Study, now) -> dict[int, dict[str, int]]:
    rows = (Assignment.objects.filter(trial__study=study, counts_toward_target=True).exclude(positive_side="")
            .filter(_live_q(now)).values("trial_id", "positive_side").annotate(n=Count("id")))
    counts: dict[int, dict[str, int]] = defaultdict(lambda: {"left": 0, "right": 0})
    for row in rows:
        counts[row["trial_id"]][row["positive_side"]] = row["n"]
    return counts


def expire_stale(study: Study, now) -> int:
    """Active assignments past their expiry go back to the pool. Returns how many."""
    return Assignment.objects.filter(trial__study=study, state=AssignmentState.ACTIVE,
                                     expires_at__lte=now).update(state=AssignmentState.EXPIRED)


def _lock_study(study_id: int) -> Study:
    return Study.objects.select_for_update().get(pk=study_id)


def pick_balanced(candidates: list[Trial], loads: dict[int, int], n: int, rng: random.Random) -> list[Trial]:
    """Up to n trials, round-robin over (condition, sound class) strata, least-loaded first."""
    strata: dict[tuple, list[Trial]] = defaultdict(list)
    for trial in candidates:
        strata[(trial.condition_id, trial.stimulus.sound_label)].append(trial)
    for trials in strata.values():
        rng.shuffle(trials)  # random tie-break among equally loaded trials (the sort is stable)
        trials.sort(key=lambda t: loads.get(t.id, 0))
    order = list(strata)
    rng.shuffle(order)
    order.sort(key=lambda key: loads.get(strata[key][0].id, 0))
    picked: list[Trial] = []
    while len(picked) < n and any(strata[key] for key in order):
        for key in order:
            if strata[key] and len(picked) < n:
                picked.append(strata[key].pop(0))
    return picked


def _choose_sides(trials: list[Trial], study: Study, now, rng: random.Random) -> dict[int, str]:
    if study.kind != StudyKind.CORRELATION:
        return {}
    counts = side_counts(study, now)
    tie_breaks = (["left", "right"] * (len(trials) // 2 + 1))[: len(trials)]
    rng.shuffle(tie_breaks)
    sides = {}
    for trial, tie in zip(trials, tie_breaks):
        left, right = counts[trial.id]["left"], counts[trial.id]["right"]
        sides[trial.id] = "left" if left < right else "right" if right < left else tie
    return sides


def _create(participant: Participant, trials: list[Trial], start: int, sides: dict, now) -> list[Assignment]:
    expires = now + ttl(participant.study)
    rows = [Assignment(participant=participant, trial=t, position=start + i, positive_side=sides.get(t.id, ""),
                       counts_toward_target=not participant.is_preview, expires_at=expires)
            for i, t in enumerate(trials)]
    return Assignment.objects.bulk_create(rows)


def _main_candidates(study: Study, participant: Participant, loads: dict[int, int]) -> list[Trial]:
    taken = Assignment.objects.filter(participant=participant).values("trial_id")
    trials = (Trial.objects.filter(study=study, role=TrialRole.MAIN).exclude(id__in=taken)
              .select_related("stimulus"))
    if participant.is_preview:
        return list(trials)
    return [t for t in trials if loads.get(t.id, 0) < study.target_votes_per_item]


def assign_participant(participant: Participant, *, now=None) -> list[Assignment]:
    """First assignment of a new rater: practice, then main + catch trials in a random order.

    Raises StudyFull when every main trial already has its target of votes (or is reserved).
    """
    now = now or timezone.now()
    rng = random.Random(secrets.randbits(64))
    with transaction.atomic():
        study = _lock_study(participant.study_id)
        if Assignment.objects.filter(participant=participant).exists():
            return list(participant.assignments.order_by("position"))
        expire_stale(study, now)
        loads = trial_loads(study, now)
        candidates = _main_candidates(study, participant, loads)
        wanted = study.trials_per_participant or Trial.objects.filter(study=study, role=TrialRole.MAIN).count()
        main = pick_balanced(candidates, loads, wanted, rng)
        if not main:
            raise StudyFull("Every trial of this study already has its votes. Thank you for your interest.")
        practice = list(Trial.objects.filter(study=study, role=TrialRole.PRACTICE).order_by("position", "id"))
        catch = list(Trial.objects.filter(study=study, role=TrialRole.CATCH))
        mixed = main + catch
        rng.shuffle(mixed)
        ordered = practice + mixed
        sides = _choose_sides(ordered, study, now, rng)
        created = _create(participant, ordered, 0, sides, now)
        Participant.objects.filter(pk=participant.pk).update(planned_main_trials=len(main))
        participant.planned_main_trials = len(main)
        return created


def needs_refresh(participant: Participant, now) -> bool:
    """True when some of the rater's unanswered trials expired (they were away too long)."""
    return Assignment.objects.filter(participant=participant).filter(
        Q(state=AssignmentState.EXPIRED) | Q(state=AssignmentState.ACTIVE, expires_at__lte=now)).exists()


def refresh_participant(participant: Participant, *, now=None) -> None:
    """A returning rater: reactivate expired trials that still have room, top up main trials.

    Expired trials whose slot was given to someone else are dropped from this rater's plan.
    """
    now = now or timezone.now()
    rng = random.Random(secrets.randbits(64))
    with transaction.atomic():
        study = _lock_study(participant.study_id)
        expire_stale(study, now)
        loads = trial_loads(study, now)
        target = study.target_votes_per_item
        expired = list(participant.assignments.filter(state=AssignmentState.EXPIRED).select_related("trial"))
        reactivate = []
        for assignment in expired:
            room = loads.get(assignment.trial_id, 0) < target
            if assignment.trial.role != TrialRole.MAIN or participant.is_preview or room:
                reactivate.append(assignment.pk)
                loads[assignment.trial_id] = loads.get(assignment.trial_id, 0) + 1
        Assignment.objects.filter(pk__in=reactivate).update(state=AssignmentState.ACTIVE,
                                                            expires_at=now + ttl(study))
        if study.state != StudyState.OPEN and not participant.is_preview:
            return
        held = participant.assignments.filter(trial__role=TrialRole.MAIN).exclude(
            state=AssignmentState.EXPIRED).count()
        missing = participant.planned_main_trials - held
        if missing > 0:
            extra = pick_balanced(_main_candidates(study, participant, loads), loads, missing, rng)
            last = participant.assignments.order_by("-position").values_list("position", flat=True).first()
            _create(participant, extra, (last or 0) + 1, _choose_sides(extra, study, now, rng), now)


EXTEND_MARGIN = timedelta(minutes=1)


def extend_expiry(participant: Participant, now) -> None:
    """Activity keeps the rater's unanswered trials reserved for another TTL.

    Rows are locked in id order and rows locked by another request (an answer claiming them right
    now) are skipped, so this never deadlocks with the rater's concurrent answers; rows extended less
    than a minute ago are left alone, so most calls write nothing.
    """
    new_expiry = now + ttl(participant.study)
    due = Assignment.objects.filter(participant=participant, state=AssignmentState.ACTIVE, expires_at__gt=now,
                                    expires_at__lt=new_expiry - EXTEND_MARGIN)
    if not due.exists():  # the common case: extended less than a minute ago
        return
    with transaction.atomic():
        ids = list(due.select_for_update(skip_locked=True).order_by("pk").values_list("pk", flat=True))
        if ids:
            Assignment.objects.filter(pk__in=ids, state=AssignmentState.ACTIVE).update(expires_at=new_expiry)


def close_if_complete(study_id: int, *, now=None) -> bool:
    """Close an open study once every main trial has its target of votes and no rater is mid-way.

    Raters still holding unexpired trials (e.g. a catch trial after their last main one) may finish;
    once they have (or their trials expired), the study closes. Returns True if it closed now.
    """
    now = now or timezone.now()
    study = Study.objects.only("id", "target_votes_per_item", "state").get(pk=study_id)
    if study.state != StudyState.OPEN or _short_of_votes(study):
        return False  # cheap unlocked check first; "all items full" never becomes false again
    with transaction.atomic():
        study = _lock_study(study_id)
        if study.state != StudyState.OPEN or _short_of_votes(study):
            return False
        busy = Assignment.objects.filter(trial__study=study, state=AssignmentState.ACTIVE, expires_at__gt=now,
                                         counts_toward_target=True).exists()
        if busy or not Trial.objects.filter(study=study, role=TrialRole.MAIN).exists():
            return False
        Study.objects.filter(pk=study.pk).update(state=StudyState.CLOSED, closed_at=now)
        return True


def _short_of_votes(study: Study) -> bool:
    return Trial.objects.filter(study=study, role=TrialRole.MAIN,
                                vote_count__lt=study.target_votes_per_item).exists()
