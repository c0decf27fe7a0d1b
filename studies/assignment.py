"""Server-side, balanced assignment of trials to raters, and its upkeep.

Invariants (tested under concurrency on PostgreSQL):
- a main trial's `load` (its non-preview assignments that are answered, or active until expired)
  never exceeds the study's target votes per item; `load` and `left_load` always equal what the
  assignments say, because every change to them happens in the same transaction as the
  assignments' change;
- a slot is taken by a conditional increment on the trial row (load < target), with the trial rows
  locked in id order, so concurrent joins never over-assign, never deadlock, and never take a
  study-wide lock; a join reads the study's trial rows (its size), never its assignments;
- answering never raises a load (active -> answered); an answer claims its assignment with a
  conditional UPDATE that races safely against expiry;
- expiry (active -> expired, load given back) and closing are done by the periodic job
  (`studies.tasks.maintain_studies`, Celery beat); a join that finds no room also expires the
  study's stale assignments first, so a site without beat still recycles abandoned slots.

New raters hold their trials for a short while only (STUDIES_JOIN_HOLD_MINUTES): the rater page
confirms them (`resume_participant`) when it loads and every few minutes while open, which
extends the hold to the study's TTL. A script that joins and goes away releases its trials fast.

Each rater gets practice trials first, then their main trials mixed with every catch trial in a
random order. Which main trials, and sides, come from `studies.design` (balanced per rater).
"""
from __future__ import annotations

import logging
import random
from collections import Counter, defaultdict
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Case, Count, F, IntegerField, Value, When
from django.utils import timezone

from .design import Slot, choose_sides, pick_balanced
from .errors import StudyFull
from .models import Assignment, AssignmentState, Participant, Study, StudyKind, StudyState, Trial, TrialRole

log = logging.getLogger(__name__)
RESERVE_ROUNDS = 3          # a join retries the trials another rater took meanwhile this often
EXTEND_MARGIN = timedelta(minutes=1)
_random = random.SystemRandom()


def ttl(study: Study) -> timedelta:
    return timedelta(minutes=study.assignment_ttl_minutes)


def join_hold(study: Study) -> timedelta:
    hold = timedelta(minutes=getattr(settings, "STUDIES_JOIN_HOLD_MINUTES", 5))
    return min(hold, ttl(study))


def _rng() -> random.Random:
    return random.Random(_random.getrandbits(64))


def main_slots(study: Study, *, exclude_trials=(), with_room: bool = True) -> list[Slot]:
    """The study's main trials as design slots (one query over its trial rows)."""
    rows = Trial.objects.filter(study=study, role=TrialRole.MAIN)
    if with_room:
        rows = rows.filter(load__lt=study.target_votes_per_item)
    if exclude_trials:
        rows = rows.exclude(pk__in=list(exclude_trials))
    fields = ("pk", "condition_id", "stimulus__sound_label", "stimulus__source_sound", "stimulus_id", "load",
              "left_load")
    return [Slot(trial=pk, condition=condition, sound_class=label, item=sound or f"stimulus-{stimulus}", load=load,
                 left_load=left)
            for pk, condition, label, sound, stimulus, load, left in rows.values_list(*fields)]


def _take_slots(study: Study, trial_ids: list[int], left_ids: set[int]) -> list[int]:
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


def _reserve(participant: Participant, slots: list[Slot], positions: list[int], sides: dict[int, str],
             expires_at, extra: list[tuple[int, int, str]] = ()) -> list[Slot]:
    """One transaction: take a slot of each trial with room, create the rater if they are new (with
    their plan's size), and create those assignments (plus `extra` non-main ones: trial id,
    position, side). Returns the slots granted; a new rater is created only if one was."""
    counted = not participant.is_preview
    new = participant.pk is None
    try:
        with transaction.atomic():
            if counted:
                left = {s.trial for s in slots if sides.get(s.trial) == "left"}
                granted = set(_take_slots(participant.study, [s.trial for s in slots], left))
            else:
                granted = {s.trial for s in slots}
            if new:
                if not granted:
                    return []
                participant.planned_main_trials = len(granted)
                participant.save()  # the crowd-id unique constraint may refuse it: all of this rolls back
            rows = [Assignment(participant=participant, trial_id=s.trial, position=p,
                               positive_side=sides.get(s.trial, ""), counts_toward_target=counted,
                               expires_at=expires_at)
                    for s, p in zip(slots, positions) if s.trial in granted]
            if rows or not slots:
                rows += [Assignment(participant=participant, trial_id=t, position=p, positive_side=side,
                                    counts_toward_target=counted, expires_at=expires_at) for t, p, side in extra]
            Assignment.objects.bulk_create(rows)
    except IntegrityError:
        if new:
            participant.pk = None
            raise  # the same crowd worker joined twice at once: the caller finds the first one
        return []  # another request of this rater created the same trial or position first
    return [s for s in slots if s.trial in granted]


def assign_participant(participant: Participant, *, now=None) -> int:
    """Create a new rater (not saved yet) with their first assignment: practice, then main + catch
    trials in a random order. Returns how many main trials they got.

    Raises StudyFull (nothing created) when no main trial has room; IntegrityError when the
    rater's crowd id was taken meanwhile.
    """
    now = now or timezone.now()
    study = participant.study
    rng = _rng()
    expires_at = now + (ttl(study) if participant.is_preview else join_hold(study))
    roles = list(Trial.objects.filter(study=study).exclude(role=TrialRole.MAIN).order_by("position", "id")
                 .values_list("pk", "role"))
    practice = [pk for pk, role in roles if role == TrialRole.PRACTICE]
    catch = [pk for pk, role in roles if role == TrialRole.CATCH]
    extra_sides = (choose_sides([Slot(pk, None, None, pk) for pk in practice + catch], rng)
                   if study.kind == StudyKind.CORRELATION else {})  # balanced within the rater, at random
    all_main = main_slots(study, with_room=False)
    wanted = study.trials_per_participant or len(all_main)
    candidates = all_main if participant.is_preview else [
        s for s in all_main if s.load < study.target_votes_per_item]
    held: list[Slot] = []
    free_positions: list[int] = []
    expired_once = False
    for _ in range(RESERVE_ROUNDS + 1):
        picked = pick_balanced(candidates, wanted - len(held), rng, held=held)
        if not picked and not held and not expired_once and not participant.is_preview:
            expired_once = True  # full? slots of raters who went away may be waiting for the periodic job
            if expire_stale(now, study=study):
                candidates = main_slots(study)
                continue
        if not picked:
            break
        sides = choose_sides(picked, rng) if study.kind == StudyKind.CORRELATION else {}
        if not held:  # first round: lay out the whole order, practice first
            mixed = [("main", s) for s in picked] + [("catch", pk) for pk in catch]
            rng.shuffle(mixed)
            order = [("practice", pk) for pk in practice] + mixed
            positions = [k for k, (kind, _) in enumerate(order) if kind == "main"]
            extra = [(pk, k, extra_sides.get(pk, "")) for k, (kind, pk) in enumerate(order) if kind != "main"]
            granted = _reserve(participant, picked, positions, sides, expires_at, extra)
            free_positions = sorted(set(positions) - {p for s, p in zip(picked, positions) if s in granted})
        else:  # a replacement takes the place of a trial another rater took meanwhile
            picked = picked[:len(free_positions)]
            if not picked:
                break
            positions = free_positions[:len(picked)]
            granted = _reserve(participant, picked, positions, sides, expires_at)
            used = {p for s, p in zip(picked, positions) if s in granted}
            free_positions = [p for p in free_positions if p not in used]
        held += granted
        if len(held) >= wanted:
            break
        # another rater took some of these meanwhile: read the loads again for the replacements
        candidates = main_slots(study, exclude_trials=[s.trial for s in held], with_room=not participant.is_preview)
    if not held:
        raise StudyFull("Every trial of this study already has its votes. Thank you for your interest.")
    if len(held) != participant.planned_main_trials:
        Participant.objects.filter(pk=participant.pk).update(planned_main_trials=len(held))
        participant.planned_main_trials = len(held)
    return len(held)


# ------------------------------------------------------------------------- returning raters
def has_expired(participant: Participant) -> bool:
    return Assignment.objects.filter(participant=participant, state=AssignmentState.EXPIRED).exists()


def reactivate(participant: Participant, assignments: list[Assignment], now) -> set[int]:
    """Give expired assignments back to their rater where their trial still has room; the others
    are withdrawn from the rater's plan for good. Returns the ids reactivated."""
    study = participant.study
    expires_at = now + ttl(study)
    with transaction.atomic():
        # Locked and re-read first: a concurrent resume of the same rater must not take a slot twice.
        still = set(Assignment.objects.select_for_update().filter(
            pk__in=[a.pk for a in assignments], state=AssignmentState.EXPIRED).values_list("pk", flat=True))
        assignments = [a for a in assignments if a.pk in still]
        counted = [a for a in assignments if a.counts_toward_target and a.trial.role == TrialRole.MAIN]
        free = [a for a in assignments if a not in counted]
        left = {a.trial_id for a in counted if a.positive_side == "left"}
        granted = set(_take_slots(study, [a.trial_id for a in counted], left)) if counted else set()
        back = [a.pk for a in free] + [a.pk for a in counted if a.trial_id in granted]
        gone = [a.pk for a in counted if a.trial_id not in granted]
        Assignment.objects.filter(pk__in=back, state=AssignmentState.EXPIRED).update(
            state=AssignmentState.ACTIVE, expires_at=expires_at)
        Assignment.objects.filter(pk__in=gone, state=AssignmentState.EXPIRED).update(state=AssignmentState.WITHDRAWN)
    return set(back)


def _top_up(participant: Participant, now) -> None:
    """Main trials withdrawn from a returning rater are replaced by free ones, balanced with the rest."""
    study = participant.study
    held_rows = list(Assignment.objects.filter(participant=participant, trial__role=TrialRole.MAIN)
                     .exclude(state=AssignmentState.WITHDRAWN).values_list("trial_id", flat=True))
    missing = participant.planned_main_trials - len(held_rows)
    if missing <= 0:
        return
    taken = set(Assignment.objects.filter(participant=participant).values_list("trial_id", flat=True))
    all_main = {s.trial: s for s in main_slots(study, with_room=False)}
    held = [all_main[t] for t in held_rows if t in all_main]
    rng = _rng()
    candidates = [s for s in main_slots(study, exclude_trials=taken, with_room=not participant.is_preview)]
    picked = pick_balanced(candidates, missing, rng, held=held)
    if not picked:
        return
    last = Assignment.objects.filter(participant=participant).order_by("-position").values_list(
        "position", flat=True).first() or 0
    sides = choose_sides(picked, rng) if study.kind == StudyKind.CORRELATION else {}
    _reserve(participant, picked, list(range(last + 1, last + 1 + len(picked))), sides, now + ttl(study))


def resume_participant(participant: Participant, *, now=None) -> None:
    """The rater page is open: keep the rater's trials, give back expired ones where there is room,
    replace the ones that went to someone else. Called on page load and every few minutes."""
    now = now or timezone.now()
    study = participant.study
    if not (study.state == StudyState.OPEN or participant.is_preview):
        return
    if has_expired(participant):
        with transaction.atomic():
            Participant.objects.select_for_update().filter(pk=participant.pk).first()  # one resume at a time
            expired = list(Assignment.objects.filter(participant=participant, state=AssignmentState.EXPIRED)
                           .select_related("trial"))
            reactivate(participant, expired, now)
            _top_up(participant, now)
    extend_expiry(participant, now)


def extend_expiry(participant: Participant, now) -> None:
    """Activity keeps the rater's unanswered trials reserved for another TTL.

    Rows locked by another request (an answer claiming them, the expiry job) are skipped, so this
    never waits or deadlocks; rows extended less than a minute ago are left alone.
    """
    new_expiry = now + ttl(participant.study)
    due = Assignment.objects.filter(participant=participant, state=AssignmentState.ACTIVE,
                                    expires_at__lt=new_expiry - EXTEND_MARGIN)
    with transaction.atomic():
        ids = list(due.select_for_update(skip_locked=True).order_by("pk").values_list("pk", flat=True))
        if ids:
            Assignment.objects.filter(pk__in=ids, state=AssignmentState.ACTIVE).update(expires_at=new_expiry)


# ------------------------------------------------------------------------- the periodic job
def expire_stale(now=None, *, study: Study | None = None, batch: int = 2000) -> int:
    """Active assignments past their expiry go back to the pool (their load is given back).

    Rows an answer is claiming right now are skipped (that answer wins); returns how many expired.
    """
    now = now or timezone.now()
    total = 0
    while True:
        with transaction.atomic():
            stale = Assignment.objects.filter(state=AssignmentState.ACTIVE, expires_at__lte=now)
            if study is not None:
                stale = stale.filter(participant__study=study)
            rows = list(stale.select_for_update(skip_locked=True, of=("self",)).order_by("pk").values_list(
                "pk", "trial_id", "positive_side", "counts_toward_target", "trial__role")[:batch])
            if not rows:
                return total
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
        total += len(rows)
        if len(rows) < batch:
            return total


def close_if_complete(study_id: int, *, now=None) -> bool:
    """Close an open study once every main trial has its target of votes and no rater is mid-way.

    Raters still holding unexpired trials (e.g. a catch trial after their last main one) may finish;
    once they have (or their trials expired), the study closes. Returns True if it closed now.
    """
    now = now or timezone.now()
    study = Study.objects.only("id", "target_votes_per_item", "state").filter(pk=study_id).first()
    if study is None or study.state != StudyState.OPEN:
        return False
    main = Trial.objects.filter(study=study, role=TrialRole.MAIN)
    if not main.exists() or main.filter(vote_count__lt=study.target_votes_per_item).exists():
        return False
    busy = Assignment.objects.filter(participant__study=study, state=AssignmentState.ACTIVE, expires_at__gt=now,
                                     counts_toward_target=True).exists()
    if busy:
        return False
    return bool(Study.objects.filter(pk=study.pk, state=StudyState.OPEN).update(state=StudyState.CLOSED,
                                                                                  closed_at=now))


def mark_finished_participants(now=None) -> int:
    """Raters with every trial answered get their completion time (a backstop for two last answers
    that raced; the answer path marks it itself otherwise)."""
    now = now or timezone.now()
    pending = Assignment.objects.filter(state=AssignmentState.ACTIVE).values("participant_id")
    return (Participant.objects.filter(completed_at__isnull=True, assignments__state=AssignmentState.ANSWERED)
            .exclude(pk__in=pending).distinct().update(completed_at=now))


def maintain_studies(now=None) -> dict:
    """The periodic job: expire stale assignments, mark finished raters, close complete studies."""
    now = now or timezone.now()
    expired = expire_stale(now)
    finished = mark_finished_participants(now)
    closed = [pk for pk in Study.objects.filter(state=StudyState.OPEN).values_list("pk", flat=True)
              if close_if_complete(pk, now=now)]
    if expired or closed:
        log.info("studies: %d assignments expired, %d raters finished, studies closed: %s", expired, finished, closed)
    return {"expired": expired, "finished": finished, "closed": closed}


def live_loads(study: Study) -> dict[int, int]:
    """Loads recounted from the assignments (for checks and tests; joins read `Trial.load`)."""
    rows = (Assignment.objects.filter(trial__study=study, counts_toward_target=True,
                                      state__in=[AssignmentState.ANSWERED, AssignmentState.ACTIVE])
            .values("trial_id").annotate(n=Count("id")))
    counts = defaultdict(int, {row["trial_id"]: row["n"] for row in rows})
    return counts


