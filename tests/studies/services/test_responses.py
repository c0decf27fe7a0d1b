"""Storing an answer (studies/services/responses.py), the same statements on both backends: the
response with every field, the vote only where it counts, the rater's other holds renewed when they
have run down, the progress mark at most every 30 seconds, and a lost claim storing nothing."""
import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from studies.errors import AnswerConflict
from studies.models import Assignment, AssignmentState, Participant, Response, Trial
from studies.services import SubmittedAnswer, build_rating_study, open_study, save_answer, start_participant
from studies.services.participants import preview_participant

pytestmark = pytest.mark.django_db


def _study(world):
    return open_study(build_rating_study("store", world["checkpoints"], target_votes=3, trials_per_participant=3,
                                         catch_trials=0, practice_trials=0, require_full_playback=False))


def test_an_answer_is_stored_counted_renews_the_other_holds_and_marks_progress(world):
    study = _study(world)
    rater = start_participant(study)
    first, second, third = rater.assignments.order_by("position")
    now = timezone.now()
    answer = SubmittedAnswer(trial=first.public_key, client_id=uuid.uuid4(), rating=4, response_time_ms=1500,
                             play_count=2, answered_at=now - timedelta(seconds=1))
    outcome = save_answer(rater, answer, now=now)
    assert (outcome.created, outcome.answered, outcome.total, outcome.done) == (True, 1, 3, False)
    stored = Response.objects.get(client_id=answer.client_id)
    assert (stored.assignment_id, stored.participant_id, stored.trial_id, stored.rating, stored.choice,
            stored.response_time_ms, stored.play_count, stored.presented_position, stored.client_answered_at,
            stored.played_to_end) == (first.pk, rater.pk, first.trial_id, 4, "", 1500, 2, first.position,
                                      answer.answered_at, False)
    assert Assignment.objects.get(pk=first.pk).state == AssignmentState.ANSWERED
    assert Trial.objects.get(pk=first.trial_id).vote_count == 1
    held = now + timedelta(minutes=study.assignment_ttl_minutes)  # the join hold had run down: a whole TTL
    assert set(Assignment.objects.filter(pk__in=[second.pk, third.pk]).values_list("expires_at", flat=True)) == {held}
    assert Participant.objects.get(pk=rater.pk).last_active_at == now
    later = now + timedelta(seconds=10)  # fresh holds are not renewed, progress not marked again yet
    rater = Participant.objects.get(pk=rater.pk)
    assert save_answer(rater, SubmittedAnswer(trial=second.public_key, client_id=uuid.uuid4(), rating=2,
                                              play_count=1), now=later).answered == 2
    assert Participant.objects.get(pk=rater.pk).last_active_at == now
    assert Assignment.objects.get(pk=third.pk).expires_at == held


def test_a_preview_answer_is_stored_but_never_counted_and_an_answered_trial_cannot_change(world):
    study = _study(world)
    preview = preview_participant(study)
    trial = preview.assignments.order_by("position").first()
    votes = Trial.objects.get(pk=trial.trial_id).vote_count
    assert save_answer(preview, SubmittedAnswer(trial=trial.public_key, client_id=uuid.uuid4(), rating=5,
                                                play_count=1)).created
    assert Trial.objects.get(pk=trial.trial_id).vote_count == votes
    with pytest.raises(AnswerConflict, match="already been answered"):
        save_answer(preview, SubmittedAnswer(trial=trial.public_key, client_id=uuid.uuid4(), rating=1, play_count=1))
    assert list(Response.objects.filter(participant=preview).values_list("rating", flat=True)) == [5]
