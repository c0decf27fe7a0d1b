"""studies.api.rater_lean: the lean rater path accepts only what DRF's path accepts, answers it the
same, and hands everything else to the DRF view (counted once)."""
import json
import uuid

import pytest
from hypothesis import given, settings as hsettings, strategies as st
from django.urls import reverse

from studies.api.rater_lean import fast_answer
from studies.api.serializers import AnswerSerializer
from studies.services import SubmittedAnswer, build_rating_study, open_study

from ..helpers import answer_body, fetch_sound, join, post_answer, state

VALID = {"trial": "AbC-_9", "client_id": str(uuid.uuid4()), "rating": 3, "response_time_ms": 10, "play_count": 1}
_values = st.one_of(
    st.none(), st.booleans(), st.integers(-3, 12), st.sampled_from([0, 86_400_000, 86_400_001, 10_000, 10_001, 3.0]),
    st.sampled_from(["", " x", "AbC", "left", "right", "neither", "LEFT", "3", "x" * 41, "\0", str(uuid.uuid4()),
                     uuid.uuid4().hex, "{" + str(uuid.uuid4()) + "}", "2026-01-02T03:04:05Z", "2026-01-02T03:04:05",
                     "2026-01-02 03:04:05.5+02:00", "yesterday", "2026-13-40T00:00:00Z"]),
    st.lists(st.integers(), max_size=2), st.dictionaries(st.text(max_size=2), st.integers(), max_size=1))
_names = st.sampled_from(["trial", "client_id", "rating", "choice", "response_time_ms", "play_count", "played_to_end",
                          "answered_at", "sound_started_at", "sound_ended_at", "ratting"])


def drf_answer(body):
    serializer = AnswerSerializer(data=body)
    return SubmittedAnswer(**serializer.validated_data) if serializer.is_valid() else None


@hsettings(max_examples=600, deadline=None)
@given(changes=st.dictionaries(_names, _values, max_size=4), drop=st.lists(_names, max_size=2))
def test_fast_answer_accepts_only_what_the_serializer_accepts_and_reads_it_the_same(changes, drop):
    body = {**VALID, **changes}
    for name in drop:
        body.pop(name, None)
    fast = fast_answer(dict(body))
    if fast is not None:
        assert fast == drf_answer(body)


def test_fast_answer_takes_the_pages_own_answers():
    ids = [str(uuid.uuid4()) for _ in range(3)]
    bodies = [{**VALID, "client_id": ids[0]},
              {**VALID, "client_id": ids[1], "rating": None, "choice": "left", "played_to_end": True,
               "sound_started_at": "2026-01-02T03:04:05.120Z", "sound_ended_at": "2026-01-02T03:04:06+00:00",
               "answered_at": None},
              {"trial": "k", "client_id": ids[2], "choice": "neither", "response_time_ms": 0, "play_count": 10_000}]
    for body in bodies:
        fast = fast_answer(dict(body))
        assert fast is not None and fast == drf_answer(body)
    assert fast_answer({**VALID, "rating": 3, "choice": "left"}) is None    # both: the serializer words why
    assert fast_answer({**VALID, "rating": True}) is None
    assert fast_answer({**VALID, "ratting": 3}) is None


@pytest.fixture
def rater(client, world):
    study = open_study(build_rating_study("lean", world["checkpoints"], target_votes=3, catch_trials=0,
                                          practice_trials=0))
    return join(client, study)


@pytest.mark.django_db
def test_requests_the_lean_path_hands_over_are_answered_and_counted_once(client, rater, settings):
    settings.STUDIES_RATES = {**settings.STUDIES_RATES, "api_token": "6/m"}
    url = reverse("studies-api:rater-answers", args=[rater.token])
    trial = state(client, rater)["trials"][0]                                        # 1
    fetch_sound(client, rater, trial)
    bad = post_answer(client, rater, {**answer_body(trial, "rating"), "ratting": 3})  # 2: DRF words it
    assert bad.status_code == 400 and bad.json()["fields"] == {"ratting": ["Unknown field."]}
    text = client.post(url, "rating=3", content_type="text/plain")                   # 3: DRF's 415
    assert text.status_code == 415 and text.json()["code"] == "unsupported_media_type"
    nan = client.post(url, '{"rating": NaN}', content_type="application/json")       # 4: strict JSON, DRF's words
    assert nan.status_code == 400 and nan.json()["code"] == "bad_json"
    body = answer_body(trial, "rating")
    first = post_answer(client, rater, body)                                          # 5: lean
    assert first.status_code == 201 and first.json()["duplicate"] is False
    again = post_answer(client, rater, body)                                          # 6: a retry
    assert again.status_code == 200 and again.json()["duplicate"] is True
    limited = post_answer(client, rater, body)                                        # 7: over 6 a minute
    assert limited.status_code == 429 and int(limited["Retry-After"]) >= 1


@pytest.mark.django_db
def test_lean_and_drf_paths_answer_the_same(client, rater):
    """The same request through the lean path and, with an Accept only DRF negotiates, through DRF."""
    url = reverse("studies-api:rater-next", args=[rater.token])
    lean = client.get(url)
    drf = client.get(url, HTTP_ACCEPT="application/json; q=0.9")
    lean_body, drf_body = lean.json(), drf.json()
    assert lean_body.pop("server_time") and drf_body.pop("server_time")
    assert lean.status_code == drf.status_code == 200 and lean_body == drf_body
    assert client.get(url, HTTP_ACCEPT="text/html").status_code == 406                 # DRF's negotiation, as before
    missing = reverse("studies-api:rater-next", args=["no-such-rater"])
    assert client.get(missing).json() == client.get(missing, HTTP_ACCEPT="application/json; q=1").json() == {
        "error": "Unknown rater link.", "code": "not_found"}
    trial = lean_body["trials"][0]
    fetch_sound(client, rater, trial)
    foreign = {**answer_body(trial, "rating"), "trial": "nope"}                         # a StudyError of save_answer
    lean_refusal = post_answer(client, rater, foreign)
    drf_refusal = post_answer(client, rater, foreign, HTTP_ACCEPT="application/json; q=1")
    assert lean_refusal.status_code == drf_refusal.status_code == 404
    assert lean_refusal.json() == drf_refusal.json() == {"error": "No such trial among yours.", "code": "not_found"}
    assert post_answer(client, rater, answer_body(trial, "rating")).status_code == 201
    assert json.loads(client.get(url).content)["progress"]["answered"] == 1
