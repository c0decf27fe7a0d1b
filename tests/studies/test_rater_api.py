"""The rater API: idempotent answers, every kind of bad input refused with a 4xx and nothing stored."""
import json
import uuid

import pytest
from django.urls import reverse

from studies.models import AssignmentState, Response, StudyState, TrialRole
from studies.services import build_correlation_study, build_rating_study, open_study

from .helpers import answer_body, fetch_sound, join, post_answer, state

pytestmark = pytest.mark.django_db


@pytest.fixture
def rating(world):
    return open_study(build_rating_study("r", world["checkpoints"], target_votes=2, catch_trials=1))


@pytest.fixture
def correlation(world):
    return open_study(build_correlation_study("c", world["checkpoints"][0], target_votes=2, catch_trials=1))


def first_trial(client, participant):
    trial = state(client, participant)["trials"][0]
    fetch_sound(client, participant, trial)
    return trial


def test_answer_is_saved_once_and_a_retry_is_harmless(client, rating):
    rater = join(client, rating)
    trial = first_trial(client, rater)
    body = answer_body(trial, "rating", 5)
    first = post_answer(client, rater, body)
    assert first.status_code == 201 and first.json()["duplicate"] is False
    again = post_answer(client, rater, body)
    assert again.status_code == 200 and again.json()["duplicate"] is True
    assert Response.objects.filter(participant=rater).count() == 1
    stored = Response.objects.get(participant=rater)
    assert stored.rating == 5 and stored.play_count == 1 and stored.response_time_ms == 1500
    assert stored.presented_position == stored.assignment.position
    assert state(client, rater)["progress"]["answered"] == 1


@pytest.mark.parametrize("change, field", [
    ({"rating": 0}, "rating"), ({"rating": 7}, "rating"), ({"rating": "five"}, "rating"),
    ({"rating": 2.5}, "rating"), ({"play_count": 0}, "play_count"), ({"client_id": "not-a-uuid"}, "client_id"),
    ({"response_time_ms": -5}, "response_time_ms"),
])
def test_invalid_answers_are_refused(client, rating, change, field):
    rater = join(client, rating)
    body = answer_body(first_trial(client, rater), "rating", **change) if "rating" not in change else None
    if body is None:
        body = answer_body(first_trial(client, rater), "rating", change["rating"])
    response = post_answer(client, rater, body)
    assert response.status_code == 400
    assert field in response.json()["fields"], response.json()
    assert not Response.objects.exists()


def test_choice_not_offered_and_wrong_answer_kind(client, rating, correlation):
    rater = join(client, correlation)
    trial = first_trial(client, rater)
    for bad in ({"choice": "up"}, {"choice": ""}):
        body = answer_body(trial, "correlation")
        body.update(bad)
        response = post_answer(client, rater, body)
        assert response.status_code == 400 and "error" in response.json()
    body = answer_body(trial, "rating", 3)  # a rating in a correlation study
    response = post_answer(client, rater, body)
    assert response.status_code == 400 and "choice" in response.json()["error"]
    rater2 = join(client, rating)
    response = post_answer(client, rater2, answer_body(first_trial(client, rater2), "correlation", "left"))
    assert response.status_code == 400 and "rating" in response.json()["error"]
    assert not Response.objects.exists()


def test_replayed_client_id_with_a_different_answer_conflicts(client, rating):
    rater = join(client, rating)
    trials = state(client, rater)["trials"]
    for t in trials[:2]:
        fetch_sound(client, rater, t)
    body = answer_body(trials[0], "rating", 2)
    assert post_answer(client, rater, body).status_code == 201
    changed = dict(body, rating=3)
    response = post_answer(client, rater, changed)
    assert response.status_code == 409 and "client id" in response.json()["error"]
    other_trial = dict(body, trial=trials[1]["id"])
    assert post_answer(client, rater, other_trial).status_code == 409
    new_id_same_trial = answer_body(trials[0], "rating", 3)
    response = post_answer(client, rater, new_id_same_trial)
    assert response.status_code == 409 and "already been answered" in response.json()["error"]
    assert list(Response.objects.values_list("rating", flat=True)) == [2]


def test_garbage_json_huge_body_and_wrong_content_type(client, rating):
    rater = join(client, rating)
    url = reverse("studies-api:rater-answers", args=[rater.token])
    for raw in (b"{not json", b"[1, 2]", b"null", b'"text"'):
        response = client.post(url, raw, content_type="application/json")
        assert response.status_code == 400, raw
        assert response.json()["error"]
    huge = json.dumps({"trial": "x", "pad": "a" * 3_000_000})
    response = client.post(url, huge, content_type="application/json")
    assert response.status_code == 413 and "too large" in response.json()["error"]
    response = client.post(url, "rating=3", content_type="application/x-www-form-urlencoded")
    assert response.status_code == 415 and "JSON" in response.json()["error"]
    assert client.get(url).status_code == 405
    assert not Response.objects.exists()


def test_a_token_cannot_read_or_answer_another_raters_trials(client, rating):
    alice, bob = join(client, rating), join(client, rating)
    alice_trial = first_trial(client, alice)
    response = post_answer(client, bob, answer_body(alice_trial, "rating", 4))
    assert response.status_code == 404 and "error" in response.json()
    bob_media = alice_trial["sound_url"].replace(alice.token, bob.token)
    assert client.get(bob_media).status_code == 404
    for slot in ("sound", "image"):
        url = reverse("studies:media", args=[alice.token, alice_trial["id"], slot])
        assert client.get(url).status_code == 200
        assert client.get(url.replace(alice.token, bob.token)).status_code == 404
    unknown = reverse("studies-api:rater-state", args=["no-such-token"])
    assert client.get(unknown).status_code == 404 and client.get(unknown).json()["error"]
    assert not Response.objects.exists()


def test_closed_study_takes_no_answers_and_no_new_raters(client, rating):
    rater = join(client, rating)
    trial = first_trial(client, rater)
    rating.state = StudyState.CLOSED
    rating.save()
    response = post_answer(client, rater, answer_body(trial, "rating"))
    assert response.status_code == 409 and "closed" in response.json()["error"]
    entry = client.post(reverse("studies:entry", args=[rating.public_key]), {"consent": "yes"})
    assert entry.status_code == 410
    assert not Response.objects.exists()


def test_full_playback_is_required(client, rating):
    rater = join(client, rating)
    trial = state(client, rater)["trials"][0]
    body = answer_body(trial, "rating", played_to_end=False)
    fetch_sound(client, rater, trial)
    response = post_answer(client, rater, body)
    assert response.status_code == 400 and "whole sound" in response.json()["error"]
    # The server also knows the sound's length: an answer sooner than that after fetching it is refused.
    assignment = rater.assignments.get(public_key=trial["id"])
    stimulus = assignment.trial.stimulus
    stimulus.sound_duration_s = 30.0
    stimulus.save()
    response = post_answer(client, rater, answer_body(trial, "rating"))
    assert response.status_code == 400 and response.json()["fields"]["played_to_end"] == "too early"
    assert not Response.objects.exists()


def test_answer_before_fetching_the_sound_is_refused(client, rating):
    rater = join(client, rating)
    trial = state(client, rater)["trials"][0]
    response = post_answer(client, rater, answer_body(trial, "rating"))
    assert response.status_code == 400
    assert not Response.objects.exists()


def test_correlation_choice_is_mapped_through_the_recorded_side(client, correlation):
    rater = join(client, correlation)
    for trial in state(client, rater)["trials"]:
        fetch_sound(client, rater, trial)
        assert post_answer(client, rater, answer_body(trial, "correlation", "left")).status_code == 201
    for response in Response.objects.filter(participant=rater):
        assert response.choice == "left"
        assert response.positive_side in ("left", "right")
        assert response.chosen_role == ("positive" if response.positive_side == "left" else "negative")


def test_completion_gives_the_code_and_prolific_redirect(client, rating):
    rater = join(client, rating, PROLIFIC_PID="pid123", STUDY_ID="st9", SESSION_ID="se7")
    assert rater.platform == "prolific" and rater.crowd_participant_id == "pid123"
    assert rater.crowd_study_id == "st9" and rater.crowd_session_id == "se7"
    assert rater.url_params["PROLIFIC_PID"] == "pid123"
    again = join(client, rating, PROLIFIC_PID="pid123", STUDY_ID="st9", SESSION_ID="se7")
    assert again.pk == rater.pk  # the same worker resumes, never restarts
    trials = state(client, rater)["trials"]
    last = None
    for trial in trials:
        fetch_sound(client, rater, trial)
        last = post_answer(client, rater, answer_body(trial, "rating"))
    body = last.json()
    assert body["done"] is True and body["completion"]["code"] == rating.completion_code
    assert body["completion"]["redirect_url"] == (
        f"https://app.prolific.com/submissions/complete?cc={rating.completion_code}")
    page = client.get(reverse("studies:done", args=[rater.token]))
    assert rating.completion_code in page.content.decode()
    assert state(client, rater)["done"] is True


def test_mturk_parameters_and_submit_form(client, rating):
    rater = join(client, rating, workerId="W1", assignmentId="A1", hitId="H1",
                 turkSubmitTo="https://evil.example.org")
    assert (rater.platform, rater.crowd_participant_id, rater.crowd_session_id, rater.crowd_study_id) == (
        "mturk", "W1", "A1", "H1")
    for trial in state(client, rater)["trials"]:
        fetch_sound(client, rater, trial)
        post_answer(client, rater, answer_body(trial, "rating"))
    page = client.get(reverse("studies:done", args=[rater.token])).content.decode()
    assert "https://www.mturk.com/mturk/externalSubmit" in page and "evil" not in page
    assert 'name="assignmentId" value="A1"' in page
    preview = client.get(reverse("studies:entry", args=[rating.public_key]), {"assignmentId": "ASSIGNMENT_ID_NOT_AVAILABLE"})
    assert preview.status_code == 200 and b"Accept the task" in preview.content


def test_practice_comes_first_and_catch_is_not_labelled(client, rating):
    rater = join(client, rating)
    trials = state(client, rater)["trials"]
    assert trials[0]["practice"] is True and not any(t["practice"] for t in trials[1:])
    roles = [a.trial.role for a in rater.assignments.order_by("position")]
    assert roles[0] == TrialRole.PRACTICE and roles.count(TrialRole.CATCH) == 1
    assert all("catch" not in json.dumps(t) for t in trials)


def test_draft_study_link_is_not_found_but_staff_can_preview(client, world):
    study = build_rating_study("r", world["checkpoints"])
    assert client.get(reverse("studies:entry", args=[study.public_key])).status_code == 404
    from studies.services import preview_participant
    rater = preview_participant(study)
    trial = first_trial(client, rater)
    assert post_answer(client, rater, answer_body(trial, "rating")).status_code == 201
    assert rater.assignments.filter(counts_toward_target=True).count() == 0
    assignment = rater.assignments.get(public_key=trial["id"])
    assert assignment.trial.vote_count == 0 and assignment.state == AssignmentState.ANSWERED


def test_client_id_must_be_a_uuid_and_unknown_trial_is_404(client, rating):
    rater = join(client, rating)
    body = {"trial": "nope", "client_id": str(uuid.uuid4()), "rating": 3, "response_time_ms": 1, "play_count": 1,
            "played_to_end": True}
    response = post_answer(client, rater, body)
    assert response.status_code == 404
