"""Saving a rater's answer: validated, idempotent by client id, safe under concurrency."""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from ..assignment import close_if_complete, extend_expiry, refresh_participant
from ..errors import AnswerConflict, BadAnswer, NotYourTrial, StudyNotOpen, TrialExpired
from ..models import (Assignment, AssignmentState, Choice, ChosenRole, Participant, Response, StudyKind,
                      StudyState, Trial)

# Browsers report 'ended' a little before the server's clock says the sound could have ended
# (network latency between fetching the sound and playing it); allow this much slack.
PLAYBACK_SLACK = timedelta(milliseconds=500)


@dataclass(frozen=True)
class Answer:
    """A validated answer as the browser sent it (see the API serializer)."""

    trial: str
    client_id: uuid.UUID
    rating: int | None = None
    choice: str = ""
    response_time_ms: int = 0
    play_count: int = 1
    played_to_end: bool = False
    answered_at: datetime | None = None


def _same_answer(response: Response, answer: Answer) -> bool:
    return (response.assignment.public_key == answer.trial and response.rating == answer.rating
            and response.choice == (answer.choice or ""))


def _check_replay(participant: Participant, answer: Answer) -> Response | None:
    """A client id seen before: the same answer again is a harmless retry, anything else a conflict."""
    existing = Response.objects.select_related("assignment").filter(client_id=answer.client_id).first()
    if existing is None:
        return None
    if existing.participant_id == participant.pk and _same_answer(existing, answer):
        return existing
    raise AnswerConflict("This client id was already used for a different answer; nothing was stored.")


def _check_content(participant: Participant, assignment: Assignment, answer: Answer) -> None:
    if participant.study.kind == StudyKind.RATING:
        if answer.rating is None or answer.choice:
            raise BadAnswer("This study asks for a rating from 1 to 5, not a choice.", fields={"rating": "required"})
        if not 1 <= answer.rating <= 5:
            raise BadAnswer(f"A rating must be 1 to 5, got {answer.rating}.", fields={"rating": "out of range"})
    else:
        if answer.rating is not None or answer.choice not in Choice.values:
            raise BadAnswer("This study asks for a choice: left, right or neither.", fields={"choice": "required"})
    if answer.play_count < 1:
        raise BadAnswer("The sound must be played before answering.", fields={"play_count": "must be at least 1"})
    if participant.study.require_full_playback:
        if not answer.played_to_end:
            raise BadAnswer("Please listen to the whole sound before answering.",
                            fields={"played_to_end": "the sound has not played to its end"})
        served = assignment.first_served_at
        duration = timedelta(seconds=assignment.trial.stimulus.sound_duration_s)
        if served is None or timezone.now() - served + PLAYBACK_SLACK < duration:
            raise BadAnswer("Please listen to the whole sound before answering (it has not been fetched long "
                            "enough to have played).", fields={"played_to_end": "too early"})


def _chosen_role(assignment: Assignment, choice: str) -> str:
    if not choice:
        return ""
    if choice == Choice.NEITHER:
        return ChosenRole.NEITHER
    return ChosenRole.POSITIVE if choice == assignment.positive_side else ChosenRole.NEGATIVE


def _claim(assignment: Assignment, participant: Participant, now) -> None:
    """Take the assignment from active to answered; an expired one only if its slot is still free."""
    claimed = Assignment.objects.filter(pk=assignment.pk, state=AssignmentState.ACTIVE,
                                        expires_at__gt=now).update(state=AssignmentState.ANSWERED)
    if claimed:
        return
    refresh_participant(participant, now=now)  # expire + reactivate when there is room
    claimed = Assignment.objects.filter(pk=assignment.pk, state=AssignmentState.ACTIVE).update(
        state=AssignmentState.ANSWERED)
    if not claimed:
        state = Assignment.objects.filter(pk=assignment.pk).values_list("state", flat=True).first()
        if state == AssignmentState.ANSWERED:
            raise AnswerConflict("This trial has already been answered.")
        raise TrialExpired("This trial expired while you were away and went to another rater; "
                           "please continue with the next one.")


def save_answer(participant: Participant, answer: Answer) -> tuple[Response, bool]:
    """Store an answer once. Returns (response, created); created is False for a retried client id.

    Raises NotYourTrial, BadAnswer, AnswerConflict, StudyNotOpen or TrialExpired (all ValueErrors with an
    HTTP status); nothing is stored when one is raised.
    """
    assignment = (Assignment.objects.select_related("trial__stimulus").filter(
        public_key=answer.trial, participant=participant).first())
    if assignment is None:
        raise NotYourTrial("No such trial among yours.")
    replay = _check_replay(participant, answer)
    if replay is not None:
        return replay, False
    if assignment.state == AssignmentState.ANSWERED:
        raise AnswerConflict("This trial has already been answered; an answer cannot be changed.")
    study = participant.study
    if not (study.state == StudyState.OPEN or (participant.is_preview and study.state == StudyState.DRAFT)):
        raise StudyNotOpen("This study is closed; no more answers are taken.")
    _check_content(participant, assignment, answer)
    now = timezone.now()
    try:
        with transaction.atomic():
            _claim(assignment, participant, now)
            response = Response.objects.create(
                assignment=assignment, participant=participant, trial=assignment.trial, client_id=answer.client_id,
                rating=answer.rating, choice=answer.choice or "",
                chosen_role=_chosen_role(assignment, answer.choice or ""),
                response_time_ms=answer.response_time_ms, play_count=answer.play_count,
                presented_position=assignment.position, positive_side=assignment.positive_side,
                client_answered_at=answer.answered_at)
            if assignment.counts_toward_target:
                Trial.objects.filter(pk=assignment.trial_id).update(vote_count=F("vote_count") + 1)
    except IntegrityError:
        # A concurrent request with the same client id (or for the same trial) committed first.
        replay = _check_replay(participant, answer)
        if replay is not None:
            return replay, False
        raise AnswerConflict("This trial has already been answered; an answer cannot be changed.") from None
    # The rest runs after the answer committed, each in its own short transaction: touching the
    # rater's other assignments inside the answer's transaction deadlocks with their other answers.
    extend_expiry(participant, now)
    _mark_completion(participant, now)
    if assignment.counts_toward_target:
        # After commit, so two last answers committed at once cannot both miss the other's vote.
        close_if_complete(study.pk, now=now)
    return response, True


def _mark_completion(participant: Participant, now) -> None:
    """Record that the rater answered everything.

    Runs after the answer committed, so of the rater's last two answers racing, the later check sees
    both; the participant row lock makes the write happen once. Most answers are not the last and
    stop at the first (unlocked, read-only) query.
    """
    if Assignment.objects.filter(participant=participant, state=AssignmentState.ACTIVE).exists():
        return
    with transaction.atomic():
        row = Participant.objects.select_for_update().filter(pk=participant.pk).first()
        if row is None or row.completed_at is not None:
            return
        if not Assignment.objects.filter(participant=participant, state=AssignmentState.ACTIVE).exists():
            Participant.objects.filter(pk=participant.pk).update(completed_at=now, last_active_at=now)
            participant.completed_at = now


def mark_sound_served(assignment: Assignment) -> None:
    """The first fetch of a trial's sound starts the clock for the full-playback check."""
    if assignment.first_served_at is None:
        Assignment.objects.filter(pk=assignment.pk, first_served_at__isnull=True).update(
            first_served_at=timezone.now())
