"""Server-side, balanced assignment of trials to raters: a new rater's join.

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

The rest of a join's rules have their own modules: how long trials are held (holds.py), the
load bookkeeping (loads.py), raters coming back (returning.py), room for new raters and the caps
on them (admission.py), the periodic job (upkeep.py).

Each rater gets practice trials first, then their main trials mixed with every catch trial in a
random order. Which main trials, and sides, come from `studies.design` (balanced per rater).
"""
from __future__ import annotations

import random

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from ..design import Slot, choose_sides, pick_balanced
from ..errors import StudyFull
from ..models import Assignment, AssignmentState, Participant, new_public_key
from ..selectors.loads import main_slots
from ..selectors.study_design import study_design
from .admission import admit_address, admit_new_rater, reclaim_idle
from .holds import join_hold, ttl
from .loads import take_slots
from .upkeep import expire_stale

INSERT_BATCH = 500          # assignment rows per INSERT statement (10 parameters each)
RESERVE_ROUNDS = 3          # a join retries the trials another rater took meanwhile this often
_random = random.SystemRandom()


def new_rng() -> random.Random:
    """A rater's own generator for their trials' order and sides, seeded from the system's."""
    return random.Random(_random.getrandbits(64))


def reserve(participant: Participant, slots: list[Slot], positions: list[int], sides: dict[int, str],
             expires_at, extra: list[tuple[int, int, str]] = (), now=None) -> list[Slot]:
    """One transaction: take a slot of each trial with room, create the rater if they are new (with
    their plan's size), and create those assignments (plus `extra` non-main ones: trial id,
    position, side). Returns the slots granted; a new rater is created only if one was."""
    counted = not participant.is_preview
    new = participant.pk is None
    try:
        with transaction.atomic():
            if new and counted and participant.client_address:
                admit_address(participant, now or timezone.now())  # inside: the count and the insert are one
            if counted:
                left = {s.trial for s in slots if sides.get(s.trial) == "left"}
                granted = set(take_slots(participant.study, [s.trial for s in slots], left))
            else:
                granted = {s.trial for s in slots}
            if new:
                if not granted:
                    return []
                participant.planned_main_trials = len(granted)
                participant.save()  # the crowd-id unique constraint may refuse it: all of this rolls back
            rows = [(s.trial, p, sides.get(s.trial, "")) for s, p in zip(slots, positions) if s.trial in granted]
            if rows or not slots:
                rows += list(extra)
            insert_assignments(participant.pk, rows, counted=counted, expires_at=expires_at)
    except IntegrityError:
        if new:
            participant.pk = None
            raise  # the same crowd worker joined twice at once: the caller finds the first one
        return []  # another request of this rater created the same trial or position first
    return [s for s in slots if s.trial in granted]


def insert_assignments(participant_id: int, rows: list[tuple[int, int, str]], *, counted: bool,
                       expires_at) -> None:
    """Active assignments of one rater (rows: trial id, position, side), in one INSERT per
    INSERT_BATCH rows (a rater given every trial of a big study stays under the databases' limits
    on parameters per statement).

    Hand-written SQL, the same statement on PostgreSQL and SQLite: a join's dozen rows through
    `bulk_create` cost more Python than the rest of the join's writes together (each value goes
    through every field's preparation; bench/studies_load.py's join CPU). The values are adapted
    as the ORM adapts them (`adapt_datetimefield_value`) and the defaults are the model's
    (`new_public_key`, state active, created now, not served yet), so rows read back the same.
    """
    ops = connection.ops
    created = ops.adapt_datetimefield_value(timezone.now())
    expires = ops.adapt_datetimefield_value(expires_at)
    columns = ("participant_id", "trial_id", "public_key", "position", "positive_side", "state",
               "counts_toward_target", "created_at", "expires_at", "first_served_at")
    one = "(" + ", ".join(["%s"] * len(columns)) + ")"
    head = f"INSERT INTO {ops.quote_name(Assignment._meta.db_table)} ({', '.join(columns)}) VALUES "
    with connection.cursor() as cursor:
        for start in range(0, len(rows), INSERT_BATCH):
            batch = rows[start:start + INSERT_BATCH]
            params = []
            for trial, position, side in batch:
                params += [participant_id, trial, new_public_key(), position, side, AssignmentState.ACTIVE.value,
                           counted, created, expires, None]
            cursor.execute(head + ", ".join([one] * len(batch)), params)


def assign_participant(participant: Participant, *, now=None) -> int:
    """Create a new rater (not saved yet) with their first assignment: practice, then main + catch
    trials in a random order. Returns how many main trials they got.

    Raises StudyFull (nothing created) when no main trial has room; IntegrityError when the
    rater's crowd id was taken meanwhile.
    """
    now = now or timezone.now()
    study = participant.study
    rng = new_rng()
    expires_at = now + (ttl(study) if participant.is_preview else join_hold(study))
    design = study_design(study)  # read once per process while the study is open
    practice, catch = list(design.practice), list(design.catch)
    extra_sides = (choose_sides([Slot(pk, None, None, pk) for pk in practice + catch], rng)
                   if study.shows_two_images else {})  # balanced within the rater, at random
    all_main = main_slots(study, with_room=False)
    wanted = study.trials_per_participant or len(all_main)
    candidates = all_main if participant.is_preview else [
        s for s in all_main if s.load < study.target_votes_per_item]
    if not participant.is_preview:
        admit_new_rater(study, all_main, now)
        if len(candidates) < wanted:
            # Too little room for a whole plan: slots of raters who went away may be waiting for the
            # periodic job, and raters who hold without answering give theirs up first.
            if expire_stale(now, study=study) + reclaim_idle(study, now, need=wanted - len(candidates)):
                candidates = main_slots(study)
    held: list[Slot] = []
    free_positions: list[int] = []
    for _ in range(RESERVE_ROUNDS + 1):
        picked = pick_balanced(candidates, wanted - len(held), rng, held=held)
        if not picked:
            break
        sides = choose_sides(picked, rng) if study.shows_two_images else {}
        if not held:  # first round: lay out the whole order, practice first
            mixed = [("main", s) for s in picked] + [("catch", pk) for pk in catch]
            rng.shuffle(mixed)
            order = [("practice", pk) for pk in practice] + mixed
            positions = [k for k, (kind, _) in enumerate(order) if kind == "main"]
            extra = [(pk, k, extra_sides.get(pk, "")) for k, (kind, pk) in enumerate(order) if kind != "main"]
            granted = reserve(participant, picked, positions, sides, expires_at, extra, now=now)
            free_positions = sorted(set(positions) - {p for s, p in zip(picked, positions) if s in granted})
        else:  # a replacement takes the place of a trial another rater took meanwhile
            picked = picked[:len(free_positions)]
            if not picked:
                break
            positions = free_positions[:len(picked)]
            granted = reserve(participant, picked, positions, sides, expires_at)
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
