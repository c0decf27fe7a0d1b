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


def test_while_answers_keep_arriving_the_figures_are_recomputed_at_most_every_max_age(client, study, computed,
                                                                                       settings, monkeypatch):
    settings.STUDIES_RESULTS_MAX_AGE_SECONDS = 30
    monkeypatch.setattr(results_cache, "SLOW_SECONDS", 0.0)   # as if this small study were a large one
    clock = [1_000_000.0]
    monkeypatch.setattr(results_cache.time, "time", lambda: clock[0])
    results_cache.cached_results(study)
    answer_one(client, study.participants.first())
    behind = results_cache.cached_results(study)
    assert len(computed) == 1 and behind["progress"]["votes"] == 2
    assert behind["freshness"] == {**behind["freshness"], "up_to_date": False, "answers_counted": 2,
                                   "answers_now": 3, "answers_since": 1}
    assert results_cache.cached_results(study, max_age=0)["progress"]["votes"] == 3   # a download asks for now
    answer_one(client, study.participants.last())
    clock[0] += 31
    caught_up = results_cache.cached_results(study)
    assert len(computed) == 3 and caught_up["progress"]["votes"] == 4 and caught_up["freshness"]["up_to_date"]


def test_page_and_api_say_how_fresh_the_figures_are(client, study, staff_user):
    client.force_login(staff_user)
    api = client.get(reverse("studies-api:study-results", args=[study.pk])).json()
    assert api["freshness"]["up_to_date"] is True and api["freshness"]["answers_counted"] == 2
    assert api["table"] == json.loads(json.dumps(study_results(study)["table"]))
    page = client.get(reverse("admin:studies_study_results_live", args=[study.pk])).content.decode()
    assert 'id="results-freshness"' in page and "from 2 answers" in page and "up to date" in page
