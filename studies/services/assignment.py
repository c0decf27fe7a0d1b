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

Holds are kept by progress only. A new rater holds their trials for STUDIES_JOIN_HOLD_MINUTES;
each answer renews the rest of their trials for the study's TTL (studies.services.responses, in
the statement that stores it). An open page that only calls in (`resume_participant`) renews
nothing: it gets back expired trials (short holds again) while the rater's last progress is
within the TTL, and past that only the next trial, so a script that joins and pings holds at most
one trial. When a join finds too little room it first takes back the slots of raters who hold
without answering (`reclaim_idle`), and raters of one address, and raters of a study who have not
answered yet, are capped (`admit_new_rater`).

Each rater gets practice trials first, then their main trials mixed with every catch trial in a
random order. Which main trials, and sides, come from `studies.design` (balanced per rater).
"""
from __future__ import annotations

import logging
import random
from collections import Counter, defaultdict
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Case, Count, Exists, F, IntegerField, OuterRef, Q, Subquery, Value, When
from django.db.models.functions import Coalesce
from django.utils import timezone

from ..design import Slot, choose_sides, pick_balanced
from ..errors import StudyBusy, StudyFull, TooManyFromAddress
from ..models import Assignment, AssignmentState, Participant, Study, StudyState, Trial, TrialRole

log = logging.getLogger(__name__)
RESERVE_ROUNDS = 3          # a join retries the trials another rater took meanwhile this often
EXTEND_MARGIN = timedelta(minutes=1)
_random = random.SystemRandom()


def ttl(study: Study) -> timedelta:
    return timedelta(minutes=study.assignment_ttl_minutes)


def join_hold(study: Study) -> timedelta:
    hold = timedelta(minutes=getattr(settings, "STUDIES_JOIN_HOLD_MINUTES", 5))
    return min(hold, ttl(study))


def renew_margin(study: Study) -> timedelta:
    """An answer renews the rater's other trials only when their hold has run down by this much,
    so the renewal (one UPDATE of up to a whole plan) runs about every tenth of the TTL per rater,
    not on every answer. A rater's trials are thus kept between 0.9 and 1 TTL after their last answer."""
    return max(EXTEND_MARGIN, ttl(study) / 10)


def progress_cap(participant: Participant) -> datetime:
    """Until when a rater who stops answering may still get expired trials back by calling in: the
    study's TTL after their last answer, or the join hold after joining for a rater who never
    answered. Calling in renews nothing, so this is the total a hold can last without progress."""
    if participant.last_active_at is not None:
        return participant.last_active_at + ttl(participant.study)
    return participant.created_at + join_hold(participant.study)


def _rng() -> random.Random:
    return random.Random(_random.getrandbits(64))


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
             expires_at, extra: list[tuple[int, int, str]] = (), now=None) -> list[Slot]:
    """One transaction: take a slot of each trial with room, create the rater if they are new (with
    their plan's size), and create those assignments (plus `extra` non-main ones: trial id,
    position, side). Returns the slots granted; a new rater is created only if one was."""
    counted = not participant.is_preview
    new = participant.pk is None
    try:
        with transaction.atomic():
            if new and counted and participant.client_address:
                _admit_address(participant, now or timezone.now())  # inside: the count and the insert are one
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
            granted = _reserve(participant, picked, positions, sides, expires_at, extra, now=now)
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
        granted = set(_take_slots(study, [a.trial_id for a in counted], left)) if counted else set()
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
    rng = _rng()
    candidates = [s for s in main_slots(study, exclude_trials=taken, with_room=not participant.is_preview)]
    picked = pick_balanced(candidates, missing, rng, held=held)
    if not picked:
        return
    last = Assignment.objects.filter(participant=participant).order_by("-position").values_list(
        "position", flat=True).first() or 0
    sides = choose_sides(picked, rng) if study.shows_two_images else {}
    _reserve(participant, picked, list(range(last + 1, last + 1 + len(picked))), sides, until)


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


# ------------------------------------------------------------------------- reclaiming and caps
def _expire_rows(rows) -> None:
    """Rows (pk, trial, side, counted, role), locked by the caller: expired, their loads given back."""
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


_ROW_FIELDS = ("pk", "trial_id", "positive_side", "counts_toward_target", "trial__role")


def _release_raters(study: Study, raters: list[int]) -> int:
    """Expire the active main trials of these raters (they get them back, where there is still
    room, if they come back and answer); rows an answer is claiming right now are skipped."""
    if not raters:
        return 0
    with transaction.atomic():
        rows = list(Assignment.objects.filter(participant_id__in=raters, state=AssignmentState.ACTIVE,
                                              trial__role=TrialRole.MAIN, counts_toward_target=True)
                    .select_for_update(skip_locked=True, of=("self",)).order_by("pk").values_list(*_ROW_FIELDS))
        if rows:
            _expire_rows(rows)
    return len(rows)


def reclaim_idle(study: Study, now, *, need: int) -> int:
    """Take back at least `need` slots, if there are, from raters who hold trials without answering:
    first raters who never answered and joined more than STUDIES_RECLAIM_NEW_SECONDS ago (oldest
    first), then raters whose last answer is older than STUDIES_RECLAIM_IDLE_MINUTES (longest idle
    first). Whole raters at a time, so nobody is left with a plan full of holes. Returns how many
    trials were freed. Runs only when a join finds too little room."""
    new_grace = timedelta(seconds=getattr(settings, "STUDIES_RECLAIM_NEW_SECONDS", 60))
    idle = timedelta(minutes=getattr(settings, "STUDIES_RECLAIM_IDLE_MINUTES", 10))
    holding = Assignment.objects.filter(participant=OuterRef("pk"), state=AssignmentState.ACTIVE,
                                        trial__role=TrialRole.MAIN, expires_at__gt=now)
    # Bounded by when a hold can still run (a join hold, and one given back on a return; a TTL after
    # the last answer): raters who left long ago are not read, so this does not grow with the study.
    hold = join_hold(study)
    idle_raters = (Participant.objects.filter(study=study, is_preview=False, completed_at__isnull=True)
                   .filter(Q(last_active_at__isnull=True, created_at__lt=now - new_grace, created_at__gt=now - 2 * hold)
                           | Q(last_active_at__lt=now - idle, last_active_at__gt=now - ttl(study) - hold))
                   .filter(Exists(holding))
                   .annotate(planned=F("planned_main_trials"), since=Coalesce("last_active_at", "created_at"))
                   .order_by(F("last_active_at").asc(nulls_first=True), "since")
                   .values_list("pk", "planned"))
    chosen, freed = [], 0
    for pk, planned in idle_raters[:200]:
        chosen.append(pk)
        freed += planned
        if freed >= need:
            break
    released = _release_raters(study, chosen)
    if released:
        log.info("studies: study %s: %d trials taken back from %d raters holding without answering",
                 study.pk, released, len(chosen))
    return released


def raters_needed(study: Study, n_main: int) -> int:
    """How many raters fill the study: its main trials times the votes each needs, over a plan."""
    per_rater = min(study.trials_per_participant or n_main, n_main) or 1
    return -(-n_main * study.target_votes_per_item // per_rater)


def admit_new_rater(study: Study, all_main: list[Slot], now) -> None:
    """Cap the raters of a study who hold trials without having answered yet (a burst of scripted
    joins, or a hostile page's visitors, could otherwise hold the whole study): at most
    STUDIES_NEW_RATERS_SHARE of the raters the study needs, and at least STUDIES_NEW_RATERS_MIN.
    Over the cap the oldest of them (past STUDIES_RECLAIM_NEW_SECONDS) gives up their trials; if
    all of them joined just now, the join is refused for a moment (429 with Retry-After).

    Counted without a lock, so simultaneous joins can overshoot the cap by a few: the cap bounds a
    hoard, it does not meter a queue."""
    share = getattr(settings, "STUDIES_NEW_RATERS_SHARE", 0.5)
    if not share:
        return
    cap = max(getattr(settings, "STUDIES_NEW_RATERS_MIN", 5), int(share * raters_needed(study, len(all_main)) + 0.999))
    new_grace = timedelta(seconds=getattr(settings, "STUDIES_RECLAIM_NEW_SECONDS", 60))
    unconfirmed = list(Participant.objects.filter(
        study=study, is_preview=False, last_active_at__isnull=True, completed_at__isnull=True,
        created_at__gt=now - join_hold(study), assignments__state=AssignmentState.ACTIVE,
        assignments__expires_at__gt=now).order_by("created_at").values_list("pk", "created_at").distinct()[:cap])
    if len(unconfirmed) < cap:
        return
    oldest, joined = unconfirmed[0]
    if joined < now - new_grace and _release_raters(study, [oldest]):
        return
    raise StudyBusy("Many people are starting this study right now. Please try again in a minute.",
                    retry_after=int(new_grace.total_seconds()))


def _admit_address(participant: Participant, now) -> None:
    """At most STUDIES_MAX_RATERS_PER_ADDRESS raters of one address hold trials of a study at once
    (0: no cap). Runs inside the join's transaction; on PostgreSQL a transaction-scoped advisory
    lock on (study, address) makes the count and the new rater's insert one step, so simultaneous
    joins from one address cannot all slip under the cap (SQLite runs writers one at a time)."""
    cap = getattr(settings, "STUDIES_MAX_RATERS_PER_ADDRESS", 3)
    if not cap:
        return
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))",
                           [f"studies.join:{participant.study_id}:{participant.client_address}"])
    holding = (Participant.objects.filter(study_id=participant.study_id, client_address=participant.client_address,
                                          is_preview=False, completed_at__isnull=True,
                                          assignments__state=AssignmentState.ACTIVE, assignments__expires_at__gt=now)
               .values("pk").distinct()[:cap].count())
    if holding >= cap:
        raise TooManyFromAddress(
            f"{cap} people from your network are taking part in this study right now. Please try again when one of "
            "them has finished.", retry_after=int(join_hold(participant.study).total_seconds()))


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
                *_ROW_FIELDS)[:batch])
            if not rows:
                return total
            _expire_rows(rows)
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
    """Raters who answered every trial of their plan get their completion time (a backstop for two
    last answers that raced; the answer path marks it itself otherwise). The plan: the main trials
    planned at the join and every practice and catch trial of the study; a trial still active or
    expired (theirs to answer when they return) means not finished."""
    now = now or timezone.now()
    open_rows = Assignment.objects.filter(participant=OuterRef("pk"),
                                          state__in=[AssignmentState.ACTIVE, AssignmentState.EXPIRED])
    extra = (Trial.objects.filter(study=OuterRef("study")).exclude(role=TrialRole.MAIN).order_by()
             .values("study").annotate(n=Count("pk")).values("n"))
    done = list(Participant.objects.filter(completed_at__isnull=True, assignments__state=AssignmentState.ANSWERED)
                .exclude(Exists(open_rows))
                .annotate(n_answered=Count("assignments"), n_extra=Coalesce(Subquery(extra), 0))
                .filter(n_answered__gte=F("planned_main_trials") + F("n_extra")).values_list("pk", flat=True))
    if not done:
        return 0
    return Participant.objects.filter(pk__in=done, completed_at__isnull=True).update(completed_at=now)


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


