"""A large study's results recomputed by a real Celery worker (upkeep queue) while polls serve the
cached figures: several pollers send one recompute, and the figures catch up without any poll
computing them."""
import time

import pytest
from django.urls import reverse

from studies.selectors import results_cache
from studies.services import build_rating_study, open_study

from ..helpers import join
from .test_results_cache import answer_one

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]


def test_pollers_of_a_large_study_send_one_recompute_and_the_worker_brings_the_figures_up_to_date(
        start_worker, client, world, staff_user, settings, monkeypatch):
    settings.STUDIES_RESULTS_BACKGROUND_ANSWERS = 2       # as if this small study were a large one
    settings.STUDIES_RESULTS_MAX_AGE_SECONDS = 0.01       # a stale poll sends a recompute at once
    study = open_study(build_rating_study("background", world["checkpoints"], target_votes=3, catch_trials=0,
                                          practice_trials=0))
    for k in range(2):
        answer_one(client, join(client, study), 2 + k)
    computed_here, sent = [], []
    real_compute, real_send = results_cache.study_results, results_cache.current_app.send_task
    monkeypatch.setattr(results_cache, "study_results", lambda s: computed_here.append(s.pk) or real_compute(s))
    monkeypatch.setattr(results_cache.current_app, "send_task",
                        lambda *a, **k: sent.append(a) or real_send(*a, **k))
    client.force_login(staff_user)
    url = reverse("studies-api:study-results", args=[study.pk])
    assert client.get(url).json()["freshness"]["answers_counted"] == 2   # first poll: computed here
    answer_one(client, study.participants.first())
    time.sleep(0.05)
    # no worker yet: every poll serves the cached figures, one recompute waits in the queue
    polls = [client.get(url).json() for _ in range(5)]
    assert all(p["progress"]["votes"] == 2 and p["freshness"]["recomputing"] for p in polls), polls[-1]["freshness"]
    assert len(sent) == 1 and len(computed_here) == 1
    worker = start_worker("upkeep", queues=settings.UPKEEP_QUEUE)
    deadline = time.monotonic() + 60
    while True:
        fresh = client.get(url).json()
        if fresh["freshness"]["up_to_date"]:
            break
        assert time.monotonic() < deadline, f"never caught up: {fresh['freshness']}\n{worker.log()[-3000:]}"
        time.sleep(0.2)
    assert fresh["progress"]["votes"] == 3 and fresh["freshness"]["answers_counted"] == 3
    assert len(computed_here) == 1, "no poll computed the statistics: the worker did"
    assert len(sent) == 1
    worker.wait_for_log("studies.refresh_results", timeout=10)
    assert worker.log().count("succeeded") == 1, worker.log()[-3000:]
