"""Many raters at once, in threads with their own database connections (meaningful on PostgreSQL,
where CI runs it; on SQLite the IMMEDIATE transactions serialise the writers).

Checks: no item assigned beyond its target, no trial answered twice, no answer lost, a retry racing
its original counts once, and the study closes itself exactly when every item has its votes.
"""
import random
import threading
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from django.db import connection, connections
from django.utils import timezone

from studies.errors import StudyError, StudyFull
from studies.models import Assignment, AssignmentState, Participant, Response, StudyState, Trial, TrialRole
from studies.selectors.loads import live_loads
from studies.services.upkeep import maintain_studies
from studies.services import SubmittedAnswer, build_rating_study, open_study, save_answer, start_participant
from studies.services.responses import mark_sound_served

from .conftest import make_world

pytestmark = [pytest.mark.django_db(transaction=True)]

THREADS = 8


def in_thread(fn):
    def run(*args):
        try:
            return fn(*args)
        finally:
            connections.close_all()
    return run


def test_concurrent_raters_never_overfill_double_count_or_lose_answers(media_root):
    world = make_world(sounds_per_class=2)
    study = open_study(build_rating_study("load", world["checkpoints"], target_votes=3, trials_per_participant=4,
                                          catch_trials=1, practice_trials=0))
    barrier = threading.Barrier(THREADS)

    @in_thread
    def arrive(k):
        if k < THREADS:
            barrier.wait(timeout=30)
        try:
            return start_participant(study).pk
        except StudyFull:
            return None

    with ThreadPoolExecutor(THREADS) as pool:
        arrived = list(pool.map(arrive, range(14)))
    raters = [pk for pk in arrived if pk]
    # 8 items x 3 votes = 24 slots, 4 per rater: 6 raters, or a few more when raters who arrived
    # near the end found fewer than 4 different trials with room (joins take no study-wide lock, so
    # how many end short depends on the threads' timing: a rater ends short only once at most 3
    # trials have room, so most of the 24 slots go in full plans of 4; the bounds are that loose).
    planned = [Participant.objects.get(pk=pk).planned_main_trials for pk in raters]
    assert sum(planned) == 24 and min(planned) >= 1 and max(planned) == 4
    assert 6 <= len(raters) <= 10 and planned.count(4) >= 3
    assert arrived.count(None) == 14 - len(raters)
    now = timezone.now()
    loads = Counter(Assignment.objects.filter(trial__study=study, trial__role=TrialRole.MAIN,
                                              state=AssignmentState.ACTIVE, expires_at__gt=now)
                    .values_list("trial_id", flat=True))
    assert sorted(loads.values()) == [3] * 8

    # Each answer is sent twice at once with its client id (a retry racing the original), and a
    # second answer to the same trial with another client id races them too.
    jobs = []
    expected = {}
    base = timezone.now() - timedelta(seconds=4)  # each rater's playbacks one after another, by position
    for pk in raters:
        participant = Participant.objects.get(pk=pk)
        for assignment in participant.assignments.select_related("trial"):
            mark_sound_served(assignment)
            rating = random.Random(assignment.pk).randint(1, 5)
            played = {"sound_started_at": base + timedelta(seconds=0.3 * assignment.position),
                      "sound_ended_at": base + timedelta(seconds=0.3 * assignment.position + 0.25)}
            answer = SubmittedAnswer(trial=assignment.public_key, client_id=uuid.uuid4(), rating=rating,
                                     response_time_ms=900, play_count=1, played_to_end=True, **played)
            rival = SubmittedAnswer(trial=assignment.public_key, client_id=uuid.uuid4(), rating=rating % 5 + 1,
                                    response_time_ms=900, play_count=1, played_to_end=True, **played)
            jobs += [(pk, answer), (pk, answer), (pk, rival)]
            expected[assignment.pk] = (answer.client_id, rival.client_id)
    random.Random(0).shuffle(jobs)

    @in_thread
    def submit(job):
        pk, answer = job
        participant = Participant.objects.select_related("study").get(pk=pk)
        try:
            return "created" if save_answer(participant, answer).created else "duplicate"
        except StudyError as error:
            return error.code

    with ThreadPoolExecutor(THREADS) as pool:
        outcomes = Counter(pool.map(submit, jobs))
    n_assignments = len(expected)
    assert outcomes["created"] == n_assignments  # exactly one winner per trial per rater
    assert outcomes["created"] + outcomes["duplicate"] + outcomes["conflict"] == len(jobs)
    assert set(outcomes) <= {"created", "duplicate", "conflict"}
    responses = list(Response.objects.filter(trial__study=study))
    assert len(responses) == n_assignments  # none lost, none doubled
    assert len({(r.participant_id, r.trial_id) for r in responses}) == n_assignments
    for response in responses:  # the stored answer is one of the two that raced
        assert response.client_id in expected[response.assignment_id]
    assert not Assignment.objects.filter(trial__study=study, state=AssignmentState.ACTIVE).exists()
    votes = Counter(r.trial_id for r in responses)
    for trial in Trial.objects.filter(study=study):
        assert trial.vote_count == votes[trial.pk]
        if trial.role == TrialRole.MAIN:
            assert trial.vote_count == 3
    for trial in Trial.objects.filter(study=study):  # the counters agree with the assignments
        assert trial.load == live_loads(study)[trial.pk] if trial.role == TrialRole.MAIN else trial.load == 0
    maintain_studies()  # the periodic job closes a complete study
    study.refresh_from_db()
    assert study.state == StudyState.CLOSED
    assert Participant.objects.filter(study=study, completed_at__isnull=False).count() == len(raters)


def test_database_is_the_real_backstop(media_root):
    """The uniqueness rules hold even for code that skips the service."""
    from django.db import IntegrityError, transaction
    world = make_world(sounds_per_class=1)
    study = open_study(build_rating_study("db", world["checkpoints"], catch_trials=0, practice_trials=0))
    participant = start_participant(study)
    assignment = participant.assignments.first()
    common = dict(participant=participant, trial=assignment.trial, response_time_ms=1, play_count=1,
                  presented_position=0)
    first_id = uuid.uuid4()
    Response.objects.create(assignment=assignment, client_id=first_id, rating=3, **common)
    with pytest.raises(IntegrityError), transaction.atomic():  # a second answer to the same assignment
        Response.objects.create(assignment=assignment, client_id=uuid.uuid4(), rating=3, **common)
    other = participant.assignments.exclude(pk=assignment.pk).first()
    fresh = dict(common, trial=other.trial)
    for bad in (dict(rating=0), dict(rating=7), dict(rating=None, choice="left", chosen_role=""),
                dict(rating=None, choice="up", chosen_role="positive"), dict(rating=2, play_count=0),
                dict(rating=2, client_id=first_id)):
        with pytest.raises(IntegrityError), transaction.atomic():
            Response.objects.create(assignment=other, **{"client_id": uuid.uuid4(), **fresh, **bad})
    Response.objects.create(assignment=other, client_id=uuid.uuid4(), rating=2, **fresh)  # a valid one passes
    assert connection.vendor in ("sqlite", "postgresql")
