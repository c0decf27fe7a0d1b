"""Server-side assignment: balance, expiry back to the pool, no over-assignment, auto-close."""
from collections import Counter
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from studies.services.upkeep import maintain_studies
from studies.errors import StudyFull
from studies.models import Assignment, AssignmentState, Response, StudyState, Trial, TrialRole
from studies.services import build_correlation_study, build_rating_study, open_study, start_participant

from ..helpers import answer_all, answer_body, fetch_sound, join, post_answer, state

pytestmark = pytest.mark.django_db


def live_load(study):
    now = timezone.now()
    loads = Counter()
    for a in Assignment.objects.filter(trial__study=study, trial__role=TrialRole.MAIN, counts_toward_target=True):
        if a.state == AssignmentState.ANSWERED or (a.state == AssignmentState.ACTIVE and a.expires_at > now):
            loads[a.trial_id] += 1
    return loads


def test_each_rater_gets_a_balanced_mix_and_items_fill_evenly(world):
    study = open_study(build_rating_study("r", world["checkpoints"], target_votes=4, trials_per_participant=4,
                                          catch_trials=1))
    raters = [start_participant(study) for _ in range(8)]
    for rater in raters:
        main = [a.trial for a in rater.assignments.select_related("trial__stimulus")
                if a.trial.role == TrialRole.MAIN]
        # 4 trials over 2 conditions x 2 classes: exactly one per stratum
        assert Counter((t.condition_id, t.stimulus.sound_label) for t in main) == Counter(
            {k: 1 for k in {(t.condition_id, t.stimulus.sound_label) for t in main}})
        assert len(main) == 4
        positions = sorted(rater.assignments.values_list("position", flat=True))
        assert positions == list(range(len(positions)))
    loads = live_load(study)
    assert sorted(loads.values()) == [4] * 8  # 8 raters x 4 = 32 = 8 items x 4 votes, perfectly even
    with pytest.raises(StudyFull):
        start_participant(study)


def test_orders_are_randomised_per_rater(world):
    study = open_study(build_rating_study("r", world["checkpoints"], target_votes=50))
    orders = {tuple(a.trial_id for a in start_participant(study).assignments.order_by("position"))
              for _ in range(6)}
    assert len(orders) > 1


def test_correlation_sides_balance_across_raters(world):
    study = open_study(build_correlation_study("c", world["checkpoints"][0], target_votes=4, catch_trials=0,
                                               practice_trials=0))
    raters = [start_participant(study) for _ in range(4)]
    per_trial = Counter()
    for rater in raters:
        sides = [a.positive_side for a in rater.assignments.all()]
        assert set(sides) <= {"left", "right"}
        assert abs(sides.count("left") - sides.count("right")) <= 1  # balanced within a rater too
        for a in rater.assignments.all():
            per_trial[(a.trial_id, a.positive_side)] += 1
    for trial in Trial.objects.filter(study=study, role=TrialRole.MAIN):
        assert per_trial[(trial.pk, "left")] == per_trial[(trial.pk, "right")] == 2


def test_abandoned_assignments_expire_back_to_the_pool(world):
    study = open_study(build_rating_study("r", world["checkpoints"], target_votes=1, catch_trials=0,
                                          practice_trials=0))
    first = start_participant(study)
    assert first.assignments.count() == 8
    with pytest.raises(StudyFull):
        start_participant(study)
    Assignment.objects.filter(participant=first).update(expires_at=timezone.now() - timedelta(seconds=1))
    second = start_participant(study)  # the abandoned slots went back to the pool
    assert second.assignments.count() == 8
    assert Assignment.objects.filter(participant=first, state=AssignmentState.EXPIRED).count() == 8
    assert max(live_load(study).values()) == 1


def test_returning_rater_gets_expired_trials_back_only_where_there_is_room(world):
    client = Client()
    study = open_study(build_rating_study("r", world["checkpoints"], target_votes=1, catch_trials=0,
                                          practice_trials=0, trials_per_participant=4))
    alice = join(client, study)
    alice_trials = set(alice.assignments.values_list("trial_id", flat=True))
    Assignment.objects.filter(participant=alice).update(expires_at=timezone.now() - timedelta(seconds=1))
    bob = join(client, study)  # takes 4 trials; expired ones of alice's may be among them
    taken_by_bob = alice_trials & set(bob.assignments.values_list("trial_id", flat=True))
    pending = state(client, alice)["trials"]  # alice comes back
    assert len(pending) == 4  # reactivated where free, topped up with other free trials otherwise
    assert max(live_load(study).values()) == 1
    alice_now = set(alice.assignments.filter(state=AssignmentState.ACTIVE).values_list("trial_id", flat=True))
    assert not (alice_now & taken_by_bob)


def test_late_answer_to_an_expired_trial_taken_by_another_rater_is_refused(world):
    client = Client()
    study = open_study(build_rating_study("r", world["checkpoints"], target_votes=1, catch_trials=0,
                                          practice_trials=0))
    alice = join(client, study)
    trial = state(client, alice)["trials"][0]
    fetch_sound(client, alice, trial)
    Assignment.objects.filter(participant=alice).update(expires_at=timezone.now() - timedelta(seconds=1))
    join(client, study)  # bob gets all 8, including alice's
    response = post_answer(client, alice, answer_body(trial, "rating"))
    assert response.status_code == 410 and "expired" in response.json()["error"]
    assert not Response.objects.exists()


def test_late_answer_to_an_expired_trial_with_room_is_kept(world):
    client = Client()
    study = open_study(build_rating_study("r", world["checkpoints"], target_votes=2, catch_trials=0,
                                          practice_trials=0))
    alice = join(client, study)
    trial = state(client, alice)["trials"][0]
    fetch_sound(client, alice, trial)
    Assignment.objects.filter(participant=alice).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert post_answer(client, alice, answer_body(trial, "rating")).status_code == 201


def test_the_periodic_job_closes_a_study_when_every_item_has_its_votes(world):
    client = Client()
    study = open_study(build_rating_study("r", world["checkpoints"], target_votes=2, catch_trials=1,
                                          trials_per_participant=8))
    for k in range(2):
        rater = join(client, study)
        study.refresh_from_db()
        assert study.state == StudyState.OPEN
        answer_all(client, rater, "rating")
    study.refresh_from_db()
    assert study.state == StudyState.OPEN  # closing is the periodic job's
    assert maintain_studies()["closed"] == [study.pk]
    study.refresh_from_db()
    assert study.state == StudyState.CLOSED and study.closed_at is not None
    assert set(Trial.objects.filter(study=study, role=TrialRole.MAIN).values_list("vote_count", flat=True)) == {2}
    entry = client.post(f"/s/{study.public_key}/", {"consent": "yes"})
    assert entry.status_code == 410


def test_the_upkeep_runs_on_celery_beat(settings):
    from evalsite.celery import app

    app.loader.import_default_modules()
    assert "studies.maintain_studies" in app.tasks
    entry = settings.CELERY_BEAT_SCHEDULE["studies-maintenance"]
    assert entry["task"] == "studies.maintain_studies" and entry["schedule"] > 0


def test_a_join_writes_its_assignments_as_the_model_would(world):
    """The join's hand-written INSERT: rows read back with the model's defaults and types."""
    study = open_study(build_rating_study("r", world["checkpoints"], target_votes=4, trials_per_participant=4,
                                          catch_trials=1, practice_trials=1))
    before = timezone.now()
    rater = start_participant(study)
    rows = list(rater.assignments.order_by("position"))
    assert len(rows) == 6  # practice + 4 main + catch
    assert [a.position for a in rows] == list(range(6))
    assert {a.state for a in rows} == {AssignmentState.ACTIVE}
    assert all(a.counts_toward_target is True and a.first_served_at is None for a in rows)
    assert len({a.public_key for a in rows}) == 6 and all(len(a.public_key) >= 16 for a in rows)
    assert all(before - timedelta(seconds=1) <= a.created_at <= timezone.now() < a.expires_at for a in rows)
    assert Assignment.objects.get(public_key=rows[0].public_key).participant_id == rater.pk


def test_assignment_rows_beyond_one_statement_are_all_written(world, monkeypatch):
    """A rater given more trials than one INSERT carries gets every one (in several statements)."""
    from studies.services import assignment
    monkeypatch.setattr(assignment, "INSERT_BATCH", 3)
    study = open_study(build_rating_study("r", world["checkpoints"], target_votes=4, trials_per_participant=7,
                                          catch_trials=1, practice_trials=0))
    rater = start_participant(study)
    assert sorted(rater.assignments.values_list("position", flat=True)) == list(range(8))
    assert live_load(study) == Counter({t: 1 for t in rater.assignments.filter(
        trial__role=TrialRole.MAIN).values_list("trial_id", flat=True)})
