"""studies.selectors.results_cache: results computed once per change, and saying how fresh they are."""
import json

import pytest
from django.urls import reverse

from studies.models import Study
from studies.selectors import results_cache
from studies.selectors.results import study_results
from studies.services import build_rating_study, open_study

from ..helpers import answer_body, fetch_sound, join, post_answer, state

pytestmark = pytest.mark.django_db


@pytest.fixture
def computed(monkeypatch):
    """Counts the real computations behind cached_results."""
    calls = []

    def counting(study):
        calls.append(study.pk)
        return study_results(study)
    monkeypatch.setattr(results_cache, "study_results", counting)
    return calls


def answer_one(client, rater, rating=4):
    trial = state(client, rater)["trials"][0]
    fetch_sound(client, rater, trial)
    assert post_answer(client, rater, answer_body(trial, "rating", rating)).status_code == 201


@pytest.fixture
def study(client, world):
    study = open_study(build_rating_study("cached", world["checkpoints"], target_votes=3, catch_trials=0,
                                          practice_trials=0))
    for k in range(2):
        answer_one(client, join(client, study), 2 + k)
    return study


def test_a_poll_with_nothing_new_is_served_from_the_cache(study, computed, settings):
    settings.STUDIES_RESULTS_MAX_AGE_SECONDS = 0
    first = results_cache.cached_results(study)
    again = results_cache.cached_results(Study.objects.get(pk=study.pk))
    assert computed == [study.pk]
    assert first["freshness"]["up_to_date"] and again["freshness"]["answers_counted"] == 2
    fresh = study_results(study)
    assert {k: v for k, v in again.items() if k != "freshness"} == fresh


def test_new_answers_raters_and_study_edits_are_seen(client, study, computed, settings):
    settings.STUDIES_RESULTS_MAX_AGE_SECONDS = 0
    results_cache.cached_results(study)
    answer_one(client, study.participants.first())
    after_answer = results_cache.cached_results(study)
    assert len(computed) == 2 and after_answer["progress"]["votes"] == 3 and after_answer["freshness"]["up_to_date"]
    join(client, study)                                          # a rater joined: progress shows them
    assert results_cache.cached_results(study)["progress"]["participants"] == 3 and len(computed) == 3
    Study.objects.filter(pk=study.pk).update(count_incomplete_raters=False)
    edited = results_cache.cached_results(Study.objects.get(pk=study.pk))
    assert len(computed) == 4 and edited["progress"]["incomplete_counted"] is False


def test_small_studies_are_always_up_to_date(client, study, computed, settings):
    settings.STUDIES_RESULTS_MAX_AGE_SECONDS = 3600
    results_cache.cached_results(study)
    answer_one(client, study.participants.first())
    assert results_cache.cached_results(study)["freshness"]["up_to_date"] and len(computed) == 2


@pytest.fixture
def sent(monkeypatch):
    """The background recomputes sent to the broker (recorded, not sent: no worker here)."""
    messages = []

    def send_task(name, args=None, queue=None, **_):
        messages.append({"name": name, "args": args, "queue": queue})
    monkeypatch.setattr(results_cache.current_app, "send_task", send_task)
    return messages


@pytest.fixture
def clock(monkeypatch):
    now = [1_000_000.0]
    monkeypatch.setattr(results_cache.time, "time", lambda: now[0])
    return now


def test_a_large_studys_stale_figures_are_served_while_one_recompute_runs_in_the_background(
        client, study, computed, settings, sent, clock):
    settings.STUDIES_RESULTS_MAX_AGE_SECONDS = 30
    settings.STUDIES_RESULTS_BACKGROUND_ANSWERS = 2          # as if this small study were a large one
    first = results_cache.cached_results(study)              # nothing cached yet: computed on the poll
    assert computed == [study.pk] and first["freshness"]["up_to_date"] and first["freshness"]["background"]
    answer_one(client, study.participants.first())
    behind = results_cache.cached_results(study)             # younger than max_age: served, nothing sent
    assert len(computed) == 1 and sent == [] and behind["progress"]["votes"] == 2
    assert behind["freshness"] == {**behind["freshness"], "up_to_date": False, "answers_counted": 2,
                                   "answers_now": 3, "answers_since": 1, "recomputing": False}
    clock[0] += 31
    polls = [results_cache.cached_results(Study.objects.get(pk=study.pk)) for _ in range(4)]
    assert len(computed) == 1, "a large study's poll never computes the statistics itself"
    assert [m["name"] for m in sent] == ["studies.refresh_results"] and sent[0]["queue"] == settings.UPKEEP_QUEUE
    assert all(p["progress"]["votes"] == 2 and p["freshness"]["recomputing"] for p in polls)
    assert results_cache.refresh(*sent[0]["args"])["computed"]   # what the worker runs
    caught_up = results_cache.cached_results(study)
    assert len(computed) == 2 and caught_up["progress"]["votes"] == 3 and caught_up["freshness"]["up_to_date"]
    answer_one(client, study.participants.last())
    clock[0] += 31
    results_cache.cached_results(study)
    assert len(sent) == 2, "the first recompute freed the lock: the next stale poll sends another"
    assert results_cache.cached_results(study, max_age=0)["progress"]["votes"] == 4   # a download asks for now
    assert len(computed) == 3


def test_a_broker_that_refuses_the_recompute_leaves_the_cached_figures_served(client, study, computed,
                                                                             settings, monkeypatch, clock):
    settings.STUDIES_RESULTS_MAX_AGE_SECONDS = 30
    settings.STUDIES_RESULTS_BACKGROUND_ANSWERS = 2
    results_cache.cached_results(study)
    answer_one(client, study.participants.first())
    clock[0] += 31
    tries = []

    def refused(*args, **kwargs):
        tries.append(args)
        raise ConnectionRefusedError("broker down")
    monkeypatch.setattr(results_cache.current_app, "send_task", refused)
    for _ in range(2):
        served = results_cache.cached_results(study)
        assert served["progress"]["votes"] == 2 and not served["freshness"]["recomputing"]
    assert len(tries) == 2 and len(computed) == 1   # the lock was freed: each poll tries again


def test_a_recompute_of_a_study_deleted_meanwhile_does_nothing(study):
    assert results_cache.refresh(study.pk + 10_000, "no-lock") == {"study": study.pk + 10_000, "computed": False}


def test_page_and_api_say_how_fresh_the_figures_are(client, study, staff_user):
    client.force_login(staff_user)
    api = client.get(reverse("studies-api:study-results", args=[study.pk])).json()
    assert api["freshness"]["up_to_date"] is True and api["freshness"]["answers_counted"] == 2
    assert api["table"] == json.loads(json.dumps(study_results(study)["table"]))
    page = client.get(reverse("admin:studies_study_results_live", args=[study.pk])).content.decode()
    assert 'id="results-freshness"' in page and "from 2 answers" in page and "up to date" in page


def test_the_page_says_a_large_studys_figures_are_being_recomputed(client, study, staff_user, settings, sent,
                                                                    clock):
    settings.STUDIES_RESULTS_MAX_AGE_SECONDS = 30
    settings.STUDIES_RESULTS_BACKGROUND_ANSWERS = 2
    client.force_login(staff_user)
    live = reverse("admin:studies_study_results_live", args=[study.pk])
    client.get(live)
    answer_one(client, study.participants.first())
    clock[0] += 31
    page = client.get(live).content.decode()
    assert "1 answer arrived since" in page and 'id="results-recomputing"' in page and "a large study" in page
    api = client.get(reverse("studies-api:study-results", args=[study.pk])).json()
    assert api["freshness"]["recomputing"] is True and api["freshness"]["answers_since"] == 1
    assert len(sent) == 1
