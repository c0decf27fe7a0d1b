"""A study's results computed once per change, kept in Django's cache (reads only).

Table 6's 2,000 bootstrap resamples and Table 5's two-way cluster-robust intervals cost hundreds
of milliseconds at ten thousand answers; the results page polls every few seconds and every staff
member watching a study polls on their own. So `cached_results` keeps `study_results` in the cache
under the study's key with a fingerprint of what it was computed from (the study's own fields,
the count and last id of its responses, its raters and how many completed), and a poll that
finds the same fingerprint is served from the cache: two small aggregate queries, no statistics.

When answers arrived since, a small study's figures are recomputed on the poll (staff see an
answer in them as soon as it is stored). A large study's (at least STUDIES_RESULTS_BACKGROUND_ANSWERS
answers) are not: the poll serves the cached figures, saying how far behind they are, and asks
for a recompute in the background (the `studies.refresh_results` task, on the upkeep queue) when
the cached ones are at least STUDIES_RESULTS_MAX_AGE_SECONDS old. A lock in the cache (in Redis,
SET NX with an expiry, when CACHE_URL is Redis) taken by the poll that sends the task and freed by
the task makes many pollers send one task. Only a large study with nothing cached at all (its
first poll, a lost cache entry) is computed on the poll: there is nothing else to show. Table
downloads ask for the figures of now (max_age=0) and are always computed when stale. Every
result carries `freshness` (when computed, from how many answers, how many there are now, whether
up to date, whether a recompute is under way), shown by the page and the API.

The cache is only a cache: a lost or culled entry is computed again, and an entry of another
code version (RESULTS_VERSION) is never read.
"""
from __future__ import annotations

import logging
import time
import uuid
from datetime import UTC, datetime

from celery import current_app
from django.conf import settings
from django.core.cache import cache
from django.db.models import Count, Max

from ..models import Participant, Response, Study
from .results import study_results

log = logging.getLogger(__name__)

RESULTS_VERSION = 1
KEEP_SECONDS = 86_400  # a study nobody looked at for a day is computed afresh
REFRESH_TASK = "studies.refresh_results"
# How long a sent recompute holds the lock: a task lost with its worker (or a broker that dropped
# the message) stops blocking recomputes after this; a live one frees it when it finishes.
LOCK_SECONDS = 600


def max_age_seconds() -> float:
    return float(getattr(settings, "STUDIES_RESULTS_MAX_AGE_SECONDS", 10.0))


def background_answers() -> int:
    """The answer count from which a study's results are recomputed off the request path."""
    return int(getattr(settings, "STUDIES_RESULTS_BACKGROUND_ANSWERS", 2000))


def _key(study: Study) -> str:
    return f"studies:results:v{RESULTS_VERSION}:{study.public_key}"


def _lock_key(study: Study) -> str:
    return f"{_key(study)}:refreshing"


def fingerprint(study: Study) -> dict:
    """What the results are computed from, in two aggregate queries: a change to any of it (an
    answer, a rater joining or completing, staff editing the study) makes a cached result stale."""
    responses = Response.objects.filter(trial__study=study).aggregate(n=Count("id"), last=Max("id"))
    raters = Participant.objects.filter(study=study).aggregate(n=Count("id"), last=Max("id"),
                                                               completed=Count("completed_at"))
    own = tuple(str(getattr(study, field.attname)) for field in Study._meta.concrete_fields)
    return {"answers": responses["n"], "last_answer": responses["last"], "raters": raters["n"],
            "last_rater": raters["last"], "completed": raters["completed"], "study": own}


def _freshness(entry: dict, now_print: dict, *, background: bool, recomputing: bool) -> dict:
    behind = now_print["answers"] - entry["fingerprint"]["answers"]
    up_to_date = entry["fingerprint"] == now_print
    return {"computed_at": datetime.fromtimestamp(entry["computed_at"], UTC).isoformat(),
            "answers_counted": entry["fingerprint"]["answers"], "answers_now": now_print["answers"],
            "answers_since": max(behind, 0), "up_to_date": up_to_date,
            "max_age_seconds": max_age_seconds(), "background": background,
            "recomputing": recomputing and not up_to_date}


def _compute(study: Study, current: dict | None = None) -> dict:
    """Compute and keep the study's results; the fingerprint is taken first, so answers stored
    while the statistics run make the entry stale, never lost."""
    current = fingerprint(study) if current is None else current
    started = time.perf_counter()
    results = study_results(study)
    entry = {"fingerprint": current, "computed_at": time.time(), "results": results,
             "seconds": time.perf_counter() - started}
    cache.set(_key(study), entry, timeout=KEEP_SECONDS)
    return entry


def request_refresh(study: Study) -> bool:
    """Send one background recompute of the study's results unless one is already queued or
    running (the lock); True when this call sent it. A broker that refuses the message frees the
    lock again (the next poll retries) and is logged; the poll still serves the cached figures."""
    token = uuid.uuid4().hex
    if not cache.add(_lock_key(study), token, timeout=LOCK_SECONDS):
        return False
    try:
        current_app.send_task(REFRESH_TASK, args=[study.pk, token], queue=settings.UPKEEP_QUEUE)
    except Exception as exc:  # kombu raises many kinds (connection refused, timeout, auth)
        cache.delete(_lock_key(study))
        log.warning("study %s: could not send its results recompute (%s: %s); the cached figures are served",
                    study.pk, type(exc).__name__, exc)
        return False
    return True


def refresh(study_id: int, token: str) -> dict:
    """The background recompute (the task's body): compute and keep the results, then free the
    lock if it is still the one the sending poll took (an expired lock may have been taken anew)."""
    study = Study.objects.filter(pk=study_id).first()
    try:
        if study is None:
            return {"study": study_id, "computed": False}
        entry = _compute(study)
        return {"study": study_id, "computed": True, "answers": entry["fingerprint"]["answers"],
                "seconds": round(entry["seconds"], 3)}
    finally:  # a deleted study's lock expires by itself
        if study is not None and cache.get(_lock_key(study)) == token:
            cache.delete(_lock_key(study))


def cached_results(study: Study, *, max_age: float | None = None) -> dict:
    """`study_results(study)` with a `freshness` part, computed only when the study changed since
    the cached one. A large study's stale figures are served while a background recompute runs
    (sent when they are at least `max_age` old, default max_age_seconds()); max_age=0 (the table
    downloads) computes stale figures now, whatever the study's size."""
    max_age = max_age_seconds() if max_age is None else max_age
    current = fingerprint(study)
    entry = cache.get(_key(study))
    background = max_age > 0 and current["answers"] >= background_answers()
    if entry is not None and entry["fingerprint"] == current:
        return {**entry["results"], "freshness": _freshness(entry, current, background=background,
                                                             recomputing=False)}
    if background and entry is not None:
        if time.time() - entry["computed_at"] >= max_age:
            request_refresh(study)
        recomputing = cache.get(_lock_key(study)) is not None
        return {**entry["results"], "freshness": _freshness(entry, current, background=True,
                                                             recomputing=recomputing)}
    entry = _compute(study, current)
    return {**entry["results"], "freshness": _freshness(entry, current, background=background, recomputing=False)}
