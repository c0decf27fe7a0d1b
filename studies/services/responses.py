"""Saving a rater's answer: validated, idempotent by client id, safe under concurrency, in few queries.

The answer path is three queries on PostgreSQL: the rater (by token, in the view), one read of the
assignment with everything the checks need (its trial, sound length, the rater's progress, and any
response already stored under this client id), and one statement that claims the assignment,
stores the response and counts the vote. One statement is atomic by itself, so no transaction
round trips are added; a claim that loses a race (the same answer sent twice at once) stores
nothing and is then answered from what the winner stored: 201 for one, 200 for the other.
SQLite (the embedded default) runs the same statements one at a time in one transaction instead.
"""
from __future__ import annotations

import contextlib
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from .holds import renew_margin, ttl
from .returning import reactivate
from .. import prepared
from ..errors import AnswerConflict, BadAnswer, NotYourTrial, StudyNotOpen, TrialExpired
from ..models import Assignment, AssignmentState, Choice, ChosenRole, Participant, Response, StudyKind, Trial
from ..selectors.answer_target import answer_target
from ..selectors.rater import plan_size, study_accepts_answers
from ..sql_values import db_time, db_uuid

# The page reports when each trial's sound started and ended, on the server's clock (it learns the
# offset from every state it loads). Its 'play' and 'ended' events are a few milliseconds apart from
# the audio itself; a playback shorter than the sound by more than this is not a whole playback.
PLAYBACK_SLACK = timedelta(milliseconds=150)
PLAYBACK_SLACK_SHARE = 0.02
# How far the page's clock may be from the server's (the offset is measured over one request).
PLAYBACK_CLOCK_SLACK = timedelta(seconds=5)
# A browser's clock may be off; an answer time further in the future than this is refused.
CLOCK_SKEW = timedelta(minutes=5)


@dataclass(frozen=True)
class SubmittedAnswer:
    """An answer as the rater page sent it, after the API serializer's type checks."""

    trial: str
    client_id: uuid.UUID
    rating: int | None = None
    choice: str = ""
    response_time_ms: int = 0
    play_count: int = 1
    played_to_end: bool = False
    answered_at: datetime | None = None
    sound_started_at: datetime | None = None
    sound_ended_at: datetime | None = None


@dataclass(frozen=True)
class AnswerOutcome:
    created: bool              # False: a retry of an answer already stored (same client id, same answer)
    answered: int
    total: int

    @property
    def done(self) -> bool:
        return self.total > 0 and self.answered >= self.total


def _target(participant: Participant, answer: SubmittedAnswer) -> dict | None:
    """The assignment the answer is for, with what the checks need (studies.selectors.answer_target)."""
    # One rater hears one sound at a time, so a script cannot claim a sound's length for every trial at
    # once: another answer's playback may not overlap this one's by more than the slack.
    played_from, played_until = _playback(answer)
    played = None if played_from is None else (played_from + PLAYBACK_SLACK, played_until - PLAYBACK_SLACK)
    return answer_target(participant.pk, answer.trial, answer.client_id, played=played)


def _playback(answer: SubmittedAnswer) -> tuple[datetime | None, datetime | None]:
    """The reported playback as (started, ended) when both are given, else (None, None)."""
    if answer.sound_started_at is None or answer.sound_ended_at is None:
        return None, None
    return answer.sound_started_at, answer.sound_ended_at


def _replayed(participant: Participant, answer: SubmittedAnswer, stored: dict) -> bool:
    """True for a harmless retry; AnswerConflict for a client id reused for something else."""
    same = (stored["participant"] == participant.pk and stored["trial"] == answer.trial
            and stored["rating"] == answer.rating and stored["choice"] == (answer.choice or ""))
    if not same:
        raise AnswerConflict("This client id was already used for a different answer; nothing was stored.")
    return True


def _stored_replay(answer: SubmittedAnswer) -> dict | None:
    row = (Response.objects.filter(client_id=answer.client_id)
           .values("participant_id", "assignment__public_key", "rating", "choice").first())
    if row is None:
        return None
    return {"participant": row["participant_id"], "trial": row["assignment__public_key"], "rating": row["rating"],
            "choice": row["choice"]}


def _check_content(participant: Participant, target: dict, answer: SubmittedAnswer, now) -> bool:
    study = participant.study
    if study.kind == StudyKind.RATING:
        if answer.rating is None or answer.choice:
            raise BadAnswer("This study asks for a rating from 1 to 5, not a choice.", fields={"rating": "required"})
        if not 1 <= answer.rating <= 5:
            raise BadAnswer(f"A rating must be 1 to 5, got {answer.rating}.", fields={"rating": "out of range"})
    elif study.kind == StudyKind.REALISM:
        if answer.rating is not None or answer.choice not in (Choice.REAL, Choice.FAKE):
            raise BadAnswer("This study asks for an answer: real or fake.", fields={"choice": "required"})
    elif answer.rating is not None or answer.choice not in (Choice.LEFT, Choice.RIGHT, Choice.NEITHER):
        raise BadAnswer("This study asks for a choice: left, right or neither.", fields={"choice": "required"})
    if answer.play_count < 1:
        raise BadAnswer("The sound must be played before answering.", fields={"play_count": "must be at least 1"})
    if answer.answered_at is not None:
        if answer.answered_at > now + CLOCK_SKEW:
            raise BadAnswer("The answer's time lies in the future.", fields={"answered_at": "in the future"})
        if answer.answered_at < participant.created_at - CLOCK_SKEW:
            raise BadAnswer("The answer's time lies before the rater started.",
                            fields={"answered_at": "before the start"})
    played, doubt = _check_playback(participant, target, answer, now)
    if study.require_full_playback:
        if not answer.played_to_end:
            raise BadAnswer("Please listen to the whole sound before answering.",
                            fields={"played_to_end": "the sound has not played to its end"})
        if doubt:
            raise BadAnswer(f"Please listen to the whole sound before answering ({doubt}).",
                            fields={"played_to_end": "too early"})
    return played


def _check_playback(participant: Participant, target: dict, answer: SubmittedAnswer, now) -> tuple[bool, str]:
    """Check the playback the page reported for this trial: (whole sound heard, why not).

    The page preloads every sound, so when a sound was fetched says nothing about when it was heard;
    what the page reports is checked instead: it lies after this trial's sound was first fetched and
    not in the future, lasts at least the sound's duration (less a small slack), and overlaps no
    other answer's playback of this rater (one rater hears one sound at a time, so a script has to
    spend each sound's length in real time). That is the stored `played_to_end`: the page's word
    that the sound ended, and a playback long enough for it. A reported time that cannot be a
    playback at all (an end before its start, in the future) is a 400 in any study; a playback
    that is merely too short refuses the answer only where the study requires full playback.
    """
    started, ended = answer.sound_started_at, answer.sound_ended_at
    if started is None and ended is not None:
        raise BadAnswer("A playback end needs its start.", fields={"sound_started_at": "required with sound_ended_at"})
    if (ended or started or now) > now + PLAYBACK_CLOCK_SLACK:
        raise BadAnswer("The playback's time lies in the future.", fields={"sound_ended_at": "in the future"})
    if started is not None and ended is not None and ended < started:
        raise BadAnswer("A sound cannot end before it starts.", fields={"sound_ended_at": "before the start"})
    if started is None or ended is None:
        return False, "no whole playback of this trial's sound was reported"
    served = target["first_served_at"]
    if served is None or started < served - PLAYBACK_CLOCK_SLACK:
        return False, "its sound had not been fetched when it is said to have started"
    if target["overlaps"]:
        return False, "its playback overlaps the playback of another of your trials"
    duration = timedelta(seconds=target["sound_duration_s"])
    if ended - started < duration * (1 - PLAYBACK_SLACK_SHARE) - PLAYBACK_SLACK:
        return False, "the playback reported for it is shorter than its sound"
    return bool(answer.played_to_end), ""


def _chosen_role(positive_side: str, choice: str) -> str:
    if not choice:
        return ""
    if choice in (Choice.NEITHER, Choice.REAL, Choice.FAKE):  # realism: the answer is side-free already
        return choice
    return ChosenRole.POSITIVE if choice == positive_side else ChosenRole.NEGATIVE


# Storing an answer is up to five writes, each one statement that names the rows it wrote
# (RETURNING), in this order: claim the assignment (active -> answered: the write that races), store
# the response, count the vote, renew the rater's other holds, mark the rater's progress. Each write
# after the claim runs only if the claim won ({claimed}). PostgreSQL runs them as one statement
# (data-modifying CTEs: atomic by itself, one round trip); SQLite has no data-modifying CTEs and runs
# the same statements one at a time in a transaction, stopping when the claim returns no row
# (_run_store: the one place the backends differ). The renewed and progressed rows are taken with
# SKIP LOCKED on PostgreSQL ({locked_o}, {locked_q}): another answer of the same rater claiming one of them right
# now keeps its lock, and an answer never waits for the rater's row (a returning rater's resume holds
# it while it locks trial rows; waiting here could close a cycle with the periodic job). A skipped
# progress mark is set again by the rater's next answer. SQLite runs one writer at a time.
_CLAIM_SQL = """UPDATE {assignment} SET state = %(answered)s WHERE id = %(assignment_id)s AND state = %(active)s
    RETURNING id"""
_SAVE_SQL = """INSERT INTO {response} (assignment_id, participant_id, trial_id, client_id, rating, choice, chosen_role,
                            response_time_ms, play_count, presented_position, positive_side, client_answered_at,
                            sound_started_at, sound_ended_at, played_to_end, created_at)
    SELECT %(assignment_id)s, %(participant_id)s, %(trial_id)s, %(client_id)s, %(rating)s, %(choice)s,
           %(chosen_role)s, %(response_time_ms)s, %(play_count)s, %(position)s, %(positive_side)s, %(answered_at)s,
           %(sound_started_at)s, %(sound_ended_at)s, %(played_to_end)s, %(now)s
    WHERE {claimed}
    RETURNING trial_id"""
_COUNT_SQL = """UPDATE {trial} SET vote_count = vote_count + 1 WHERE %(counts)s AND id = %(trial_id)s AND {claimed}
    RETURNING id"""
_RENEW_SQL = """UPDATE {assignment} SET expires_at = %(renew_until)s
    WHERE id IN (SELECT o.id FROM {assignment} o
                 WHERE o.participant_id = %(participant_id)s AND o.state = %(active)s
                   AND o.expires_at < %(renew_before)s AND {claimed}{locked_o})
    RETURNING id"""
_MARK_SQL = """UPDATE {participant} SET last_active_at = %(now)s
    WHERE id IN (SELECT q.id FROM {participant} q WHERE q.id = %(participant_id)s AND {claimed}{locked_q})
    RETURNING id"""
# Each value's PostgreSQL type, for the prepared store statement (studies/prepared.py).
_STORE_TYPES = {
    "answered": "text", "active": "text", "assignment_id": "bigint", "participant_id": "bigint", "trial_id": "bigint",
    "client_id": "uuid", "rating": "smallint", "choice": "text", "chosen_role": "text", "response_time_ms": "integer",
    "play_count": "integer", "position": "integer", "positive_side": "text", "answered_at": "timestamptz",
    "now": "timestamptz", "counts": "boolean", "sound_started_at": "timestamptz", "sound_ended_at": "timestamptz",
    "played_to_end": "boolean", "renew_until": "timestamptz", "renew_before": "timestamptz",
}
# A rater's progress mark is rewritten at most this often: it feeds decisions made in minutes (who
# holds without answering), and a write of the rater's row on every answer was measurable.
PROGRESS_MARK_EVERY = timedelta(seconds=30)


def _run_store(steps: list[tuple[str, str]], values: dict) -> dict[str, int]:
    """Run the store's statements (name, SQL) in order, all or nothing; the rows each returned, by name
    (0 for a step that did not run because the claim lost)."""
    tables = {"assignment": Assignment._meta.db_table, "response": Response._meta.db_table,
              "trial": Trial._meta.db_table, "participant": Participant._meta.db_table}
    returned = dict.fromkeys((name for name, _ in steps), 0)
    if connection.vendor == "postgresql":
        parts = [f"{name} AS (\n    " + sql.format(**tables, claimed="EXISTS (SELECT 1 FROM claimed)",
                                                  locked_o=" FOR UPDATE OF o SKIP LOCKED",
                                                  locked_q=" FOR UPDATE OF q SKIP LOCKED") + "\n)"
                 for name, sql in steps]
        counts = ", ".join(f"(SELECT count(*) FROM {name}) AS {name}" for name, _ in steps)
        statement = "WITH " + ", ".join(parts) + f"\nSELECT {counts}"
        # In autocommit mode the statement is its own transaction; inside a caller's transaction a
        # savepoint keeps a unique-key error from poisoning it.
        with transaction.atomic() if connection.in_atomic_block else contextlib.nullcontext():
            with connection.cursor() as cursor:
                prepared.execute(cursor, statement, values, _STORE_TYPES)
                returned.update(zip([column[0] for column in cursor.description], cursor.fetchone()))
        return returned
    with transaction.atomic(), connection.cursor() as cursor:
        for name, sql in steps:
            cursor.execute(sql.format(**tables, claimed="TRUE", locked_o="", locked_q=""), values)
            returned[name] = len(cursor.fetchall())
            if name == "claimed" and not returned[name]:
                break
    return returned


def _store(participant: Participant, target: dict, answer: SubmittedAnswer, now, played: bool) -> bool:
    """Claim the assignment, store the response, count the vote, renew the rater's other holds and
    record their progress: all or nothing. False: the claim lost."""
    study = participant.study
    # An answer is progress: the rater's other trials are held for another TTL from now. They are
    # renewed together, so the answered one's hold stands for the others': renewed only when it has
    # run down by the margin (about every tenth of the TTL).
    renew_until = now + ttl(study)
    renew_before = renew_until - renew_margin(study)
    steps = [("claimed", _CLAIM_SQL), ("saved", _SAVE_SQL), ("counted", _COUNT_SQL)]
    if target["expires_at"] < renew_before:
        steps.append(("renewed", _RENEW_SQL))
    if participant.last_active_at is None or participant.last_active_at < now - PROGRESS_MARK_EVERY:
        steps.append(("progressed", _MARK_SQL))
    values = {
        "answered": AssignmentState.ANSWERED, "active": AssignmentState.ACTIVE, "assignment_id": target["pk"],
        "participant_id": participant.pk, "trial_id": target["trial_id"], "client_id": db_uuid(answer.client_id),
        "rating": answer.rating, "choice": answer.choice or "",
        "chosen_role": _chosen_role(target["positive_side"], answer.choice or ""),
        "response_time_ms": answer.response_time_ms, "play_count": answer.play_count, "position": target["position"],
        "positive_side": target["positive_side"], "answered_at": db_time(answer.answered_at), "now": db_time(now),
        "counts": target["counts_toward_target"], "sound_started_at": db_time(answer.sound_started_at),
        "sound_ended_at": db_time(answer.sound_ended_at), "played_to_end": played,
        "renew_until": db_time(renew_until), "renew_before": db_time(renew_before),
    }
    returned = _run_store(steps, values)
    if returned.get("progressed"):
        participant.last_active_at = now
    return returned["saved"] == 1


def _revive(participant: Participant, target: dict, now) -> None:
    """An answer to a trial that expired while the rater was away: kept if the slot is still free."""
    assignment = Assignment.objects.select_related("trial").get(pk=target["pk"])
    if target["state"] == AssignmentState.EXPIRED and reactivate(participant, [assignment], now):
        return
    raise TrialExpired("This trial expired while you were away and went to another rater; your answer to it was "
                       "not needed. Please continue with the next one.")


def _after_lost_claim(participant: Participant, answer: SubmittedAnswer) -> None:
    """The claim found the assignment no longer active: a concurrent copy of this answer won
    (a retry: fine), another answer to the same trial won (conflict), or it expired meanwhile."""
    stored = _stored_replay(answer)
    if stored is not None and _replayed(participant, answer, stored):
        return
    state = Assignment.objects.filter(participant=participant, public_key=answer.trial).values_list(
        "state", flat=True).first()
    if state == AssignmentState.ANSWERED:
        raise AnswerConflict("This trial has already been answered; an answer cannot be changed.")
    raise TrialExpired("This trial expired while you were away and went to another rater; your answer to it was "
                       "not needed. Please continue with the next one.")


def save_answer(participant: Participant, answer: SubmittedAnswer, *, now=None) -> AnswerOutcome:
    """Store an answer once. created is False for a retried client id.

    Raises NotYourTrial, BadAnswer, AnswerConflict, StudyNotOpen or TrialExpired (all ValueErrors with an
    HTTP status); nothing is stored when one is raised.
    """
    now = now or timezone.now()
    target = _target(participant, answer)
    if target is None:
        raise NotYourTrial("No such trial among yours.")
    progress = (target["n_answered"], plan_size(participant))
    if target["replay_participant"] is not None:
        stored = {"participant": target["replay_participant"], "trial": target["replay_trial"],
                  "rating": target["replay_rating"], "choice": target["replay_choice"]}
        _replayed(participant, answer, stored)
        return AnswerOutcome(False, *progress)
    if target["state"] == AssignmentState.ANSWERED:
        raise AnswerConflict("This trial has already been answered; an answer cannot be changed.")
    if not study_accepts_answers(participant):
        raise StudyNotOpen("This study is closed; no more answers are taken.")
    played = _check_content(participant, target, answer, now)
    if target["state"] != AssignmentState.ACTIVE:
        _revive(participant, target, now)
    try:
        created = _store(participant, target, answer, now, played)
    except IntegrityError:  # the client id is stored already, for another trial of this or another rater
        created = False
    if not created:
        _after_lost_claim(participant, answer)
        return AnswerOutcome(False, *progress)
    outcome = AnswerOutcome(True, progress[0] + 1, progress[1])
    if outcome.done:
        mark_completed(participant, now)
    return outcome


def mark_completed(participant: Participant, now) -> None:
    """Record that the rater answered every trial of their plan (once; the periodic job catches two
    last answers that raced, where each saw the other still pending). The caller counted the plan
    answered; a trial still active or expired (given back when they return) means not complete."""
    updated = Participant.objects.filter(pk=participant.pk, completed_at__isnull=True).exclude(
        assignments__state__in=[AssignmentState.ACTIVE, AssignmentState.EXPIRED]).update(completed_at=now)
    if updated:
        participant.completed_at = now


def mark_sound_served(assignment: Assignment) -> None:
    """The first fetch of a trial's sound starts the clock for the full-playback check."""
    if assignment.first_served_at is None:
        Assignment.objects.filter(pk=assignment.pk, first_served_at__isnull=True).update(
            first_served_at=timezone.now())


