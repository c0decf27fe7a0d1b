"""Saving a rater's answer: validated, idempotent by client id, safe under concurrency, in few queries.

The answer path is three queries on PostgreSQL: the rater (by token, in the view), one read of the
assignment with everything the checks need (its trial, sound length, the rater's progress, and any
response already stored under this client id), and one statement that claims the assignment,
stores the response and counts the vote. One statement is atomic by itself, so no transaction
round trips are added; a claim that loses a race (the same answer sent twice at once) stores
nothing and is then answered from what the winner stored: 201 for one, 200 for the other.
SQLite (the embedded default) runs the same three writes in one transaction instead.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from datetime import timezone as dt_timezone

from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from .holds import renew_margin, ttl
from .returning import reactivate
from ..errors import AnswerConflict, BadAnswer, NotYourTrial, StudyNotOpen, TrialExpired
from ..models import (Assignment, AssignmentState, Choice, ChosenRole, Participant, Response, Stimulus, StudyKind,
                      Trial)
from ..selectors.rater import plan_size, study_accepts_answers

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


_TARGET_SQL = """
SELECT a.id AS pk, a.trial_id AS trial_id, a.state AS state, a.position AS position,
       a.positive_side AS positive_side, a.counts_toward_target AS counts_toward_target,
       a.first_served_at AS first_served_at, a.expires_at AS expires_at, s.sound_duration_s AS sound_duration_s,
       (SELECT count(*) FROM {assignment} o WHERE o.participant_id = a.participant_id AND o.state = %(answered)s)
           AS n_answered,
       {overlaps} AS overlaps,
       r.participant_id AS replay_participant, ra.public_key AS replay_trial, r.rating AS replay_rating,
       r.choice AS replay_choice
FROM {assignment} a
JOIN {trial} t ON t.id = a.trial_id
JOIN {stimulus} s ON s.id = t.stimulus_id
LEFT JOIN {response} r ON r.client_id = %(client_id)s
LEFT JOIN {assignment} ra ON ra.id = r.assignment_id
WHERE a.participant_id = %(participant)s AND a.public_key = %(trial)s
"""
# Another answer of this rater whose playback overlaps this one's (by more than the slack); only
# asked when the answer reports a playback.
_OVERLAPS_SQL = """EXISTS (SELECT 1 FROM {response} p WHERE p.participant_id = a.participant_id
                                           AND p.sound_started_at < %(played_until)s
                                           AND p.sound_ended_at > %(played_from)s)"""


def _target(participant: Participant, answer: SubmittedAnswer) -> dict | None:
    """One query: the assignment, what the checks need, the rater's progress, and a stored replay.

    Raw SQL because it runs on every answer and the ORM spent longer building this statement
    (subqueries, joins) than the database spent running it."""
    # One rater hears one sound at a time, so a script cannot claim a sound's length for every trial at once.
    played_from, played_until = _playback(answer)
    if played_from is not None:
        played_from, played_until = played_from + PLAYBACK_SLACK, played_until - PLAYBACK_SLACK
    overlaps = "false" if played_from is None else _OVERLAPS_SQL.format(response=Response._meta.db_table)
    sql = _TARGET_SQL.format(assignment=Assignment._meta.db_table, trial=Trial._meta.db_table,
                             stimulus=Stimulus._meta.db_table, response=Response._meta.db_table, overlaps=overlaps)
    client_id = answer.client_id.hex if connection.vendor == "sqlite" else str(answer.client_id)
    with connection.cursor() as cursor:
        cursor.execute(sql, {"answered": AssignmentState.ANSWERED, "client_id": client_id,
                             "participant": participant.pk, "trial": answer.trial,
                             "played_from": _db_time(played_from), "played_until": _db_time(played_until)})
        row = cursor.fetchone()
        names = [column[0] for column in cursor.description]  # the row by the names the statement gives
    if row is None:
        return None
    target = dict(zip(names, row))
    target["counts_toward_target"] = bool(target["counts_toward_target"])
    target["overlaps"] = bool(target["overlaps"])
    for name in ("first_served_at", "expires_at"):  # SQLite hands raw datetimes back naive or as text (both UTC)
        value = target[name]
        if isinstance(value, str):
            value = parse_datetime(value)
        if value is not None and timezone.is_naive(value):
            value = value.replace(tzinfo=dt_timezone.utc)
        target[name] = value
    return target


def _playback(answer: SubmittedAnswer) -> tuple[datetime | None, datetime | None]:
    """The reported playback as (started, ended) when both are given, else (None, None)."""
    if answer.sound_started_at is None or answer.sound_ended_at is None:
        return None, None
    return answer.sound_started_at, answer.sound_ended_at


def _db_time(value: datetime | None):
    """A datetime as a raw query needs it (SQLite compares the text Django stores)."""
    return None if value is None else connection.ops.adapt_datetimefield_value(value)


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


# `renewed` and `progressed` read `claimed`, so they run after the claim took its row lock and only
# when it won. Their rows are taken with SKIP LOCKED: another answer of the same rater claiming one
# of them right now keeps its lock, and an answer never waits for the rater's row (a returning
# rater's resume holds it while it locks trial rows; waiting here could close a cycle with the
# periodic job). A skipped progress mark is set again by the rater's next answer.
_STORE_SQL = """
WITH claimed AS (
    UPDATE {assignment} SET state = %(answered)s WHERE id = %(assignment_id)s AND state = %(active)s RETURNING id
), saved AS (
    INSERT INTO {response} (assignment_id, participant_id, trial_id, client_id, rating, choice, chosen_role,
                            response_time_ms, play_count, presented_position, positive_side, client_answered_at,
                            sound_started_at, sound_ended_at, played_to_end, created_at)
    SELECT id, %(participant_id)s, %(trial_id)s, %(client_id)s::uuid, %(rating)s, %(choice)s, %(chosen_role)s,
           %(response_time_ms)s, %(play_count)s, %(position)s, %(positive_side)s, %(answered_at)s,
           %(sound_started_at)s, %(sound_ended_at)s, %(played_to_end)s, %(now)s
    FROM claimed
    RETURNING trial_id
), counted AS (
    UPDATE {trial} SET vote_count = vote_count + 1 WHERE %(counts)s AND id IN (SELECT trial_id FROM saved) RETURNING id
){renewed}{progressed}
SELECT count(*) FROM saved
"""
_RENEWED_SQL = """, renewed AS (
    UPDATE {assignment} SET expires_at = %(renew_until)s
    WHERE id IN (SELECT o.id FROM {assignment} o
                 WHERE o.participant_id = %(participant_id)s AND o.state = %(active)s
                   AND o.expires_at < %(renew_before)s AND EXISTS (SELECT 1 FROM claimed)
                 FOR UPDATE OF o SKIP LOCKED)
    RETURNING id
)"""
_PROGRESSED_SQL = """, progressed AS (
    UPDATE {participant} SET last_active_at = %(now)s
    WHERE id IN (SELECT q.id FROM {participant} q WHERE q.id = %(participant_id)s AND EXISTS (SELECT 1 FROM claimed)
                 FOR UPDATE OF q SKIP LOCKED)
    RETURNING id
)"""
# A rater's progress mark is rewritten at most this often: it feeds decisions made in minutes (who
# holds without answering), and a write of the rater's row on every answer was measurable.
PROGRESS_MARK_EVERY = timedelta(seconds=30)


def _store(participant: Participant, target: dict, answer: SubmittedAnswer, now, played: bool) -> bool:
    """Claim the assignment, store the response, count the vote, renew the rater's other holds and
    record their progress: all or nothing. False: the claim lost."""
    values = {
        "answered": AssignmentState.ANSWERED, "active": AssignmentState.ACTIVE, "assignment_id": target["pk"],
        "participant_id": participant.pk, "trial_id": target["trial_id"], "client_id": str(answer.client_id),
        "rating": answer.rating, "choice": answer.choice or "",
        "chosen_role": _chosen_role(target["positive_side"], answer.choice or ""),
        "response_time_ms": answer.response_time_ms, "play_count": answer.play_count, "position": target["position"],
        "positive_side": target["positive_side"], "answered_at": answer.answered_at, "now": now,
        "counts": target["counts_toward_target"], "sound_started_at": answer.sound_started_at,
        "sound_ended_at": answer.sound_ended_at, "played_to_end": played,
        # An answer is progress: the rater's other trials are held for another TTL from now.
        "renew_until": now + ttl(participant.study), "renew_before": now + ttl(participant.study)
        - renew_margin(participant.study),
    }
    # The rater's trials are renewed together, so the answered one's hold stands for the others':
    # renewed only when it has run down by the margin (about every tenth of the TTL).
    renew = target["expires_at"] < values["renew_before"]
    mark = participant.last_active_at is None or participant.last_active_at < now - PROGRESS_MARK_EVERY
    if connection.vendor == "postgresql":
        tables = {"assignment": Assignment._meta.db_table, "participant": Participant._meta.db_table}
        sql = _STORE_SQL.format(assignment=Assignment._meta.db_table, response=Response._meta.db_table,
                                trial=Trial._meta.db_table,
                                renewed=_RENEWED_SQL.format(**tables) if renew else "",
                                progressed=_PROGRESSED_SQL.format(**tables) if mark else "")
        # In autocommit mode the statement is its own transaction; inside a caller's transaction a
        # savepoint keeps a unique-key error from poisoning it.
        if connection.in_atomic_block:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(sql, values)
                return cursor.fetchone()[0] == 1
        with connection.cursor() as cursor:
            cursor.execute(sql, values)
            return cursor.fetchone()[0] == 1
    with transaction.atomic():
        claimed = Assignment.objects.filter(pk=target["pk"], state=AssignmentState.ACTIVE).update(
            state=AssignmentState.ANSWERED)
        if not claimed:
            return False
        Response.objects.create(
            assignment_id=target["pk"], participant=participant, trial_id=target["trial_id"],
            client_id=answer.client_id, rating=answer.rating, choice=values["choice"],
            chosen_role=values["chosen_role"], response_time_ms=answer.response_time_ms,
            play_count=answer.play_count, presented_position=target["position"],
            positive_side=target["positive_side"], client_answered_at=answer.answered_at,
            sound_started_at=answer.sound_started_at, sound_ended_at=answer.sound_ended_at, played_to_end=played)
        if target["counts_toward_target"]:
            Trial.objects.filter(pk=target["trial_id"]).update(vote_count=F("vote_count") + 1)
        if renew:
            Assignment.objects.filter(participant=participant, state=AssignmentState.ACTIVE,
                                      expires_at__lt=values["renew_before"]).update(expires_at=values["renew_until"])
        if mark:
            Participant.objects.filter(pk=participant.pk).update(last_active_at=now)
    if mark:
        participant.last_active_at = now
    return True


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


