"""A study's results computed once per change, kept in Django's cache (reads only).

Table 6's 2,000 bootstrap resamples and Table 5's two-way cluster-robust intervals cost hundreds
of milliseconds at ten thousand answers; the results page polls every few seconds and every staff
member watching a study polls on their own. So `cached_results` keeps `study_results` in the cache
under the study's key with a fingerprint of what it was computed from (the study's own fields,
the count and last id of its responses, its raters and how many completed), and a poll that
finds the same fingerprint is served from the cache: two small aggregate queries, no statistics.
When answers arrived since, the figures are recomputed; where computing them took longer than
SLOW_SECONDS (a large study), at most every STUDIES_RESULTS_MAX_AGE_SECONDS (default 10) while
answers keep arriving: meanwhile the cached figures are served and say they are behind. Every result carries `freshness` (when computed, from
how many answers, how many there are now, whether up to date), shown by the page and the API.

The cache is only a cache: a lost or culled entry is computed again, and an entry of another
code version (RESULTS_VERSION) is never read.
"""
from __future__ import annotations

import time
from datetime import UTC, datetime

from django.conf import settings
from django.core.cache import cache
from django.db.models import Count, Max

from ..models import Participant, Response, Study
from .results import study_results

RESULTS_VERSION = 1
# Only results that took this long to compute are held back while answers arrive: a small study's
# are recomputed on every change (staff see an answer in the figures as soon as it is stored).
SLOW_SECONDS = 0.25
KEEP_SECONDS = 86_400  # a study nobody looked at for a day is computed afresh


def max_age_seconds() -> float:
    return float(getattr(settings, "STUDIES_RESULTS_MAX_AGE_SECONDS", 10.0))


def _key(study: Study) -> str:
    return f"studies:results:v{RESULTS_VERSION}:{study.public_key}"


def fingerprint(study: Study) -> dict:
    """What the results are computed from, in two aggregate queries: a change to any of it (an
    answer, a rater joining or completing, staff editing the study) makes a cached result stale."""
    responses = Response.objects.filter(trial__study=study).aggregate(n=Count("id"), last=Max("id"))
    raters = Participant.objects.filter(study=study).aggregate(n=Count("id"), last=Max("id"),
                                                               completed=Count("completed_at"))
    own = tuple(str(getattr(study, field.attname)) for field in Study._meta.concrete_fields)
    return {"answers": responses["n"], "last_answer": responses["last"], "raters": raters["n"],
            "last_rater": raters["last"], "completed": raters["completed"], "study": own}


def _freshness(entry: dict, now_print: dict) -> dict:
    behind = now_print["answers"] - entry["fingerprint"]["answers"]
    return {"computed_at": datetime.fromtimestamp(entry["computed_at"], UTC).isoformat(),
            "answers_counted": entry["fingerprint"]["answers"], "answers_now": now_print["answers"],
            "answers_since": max(behind, 0), "up_to_date": entry["fingerprint"] == now_print,
            "max_age_seconds": max_age_seconds()}


def cached_results(study: Study, *, max_age: float | None = None) -> dict:
    """`study_results(study)` with a `freshness` part, computed only when the study changed since
    the cached one, and at most every `max_age` seconds (default max_age_seconds(); 0: whenever it
    changed, as the table downloads ask) while it keeps changing."""
    max_age = max_age_seconds() if max_age is None else max_age
    current = fingerprint(study)
    entry = cache.get(_key(study))
    if entry is not None and (entry["fingerprint"] == current or (
            entry["seconds"] >= SLOW_SECONDS and time.time() - entry["computed_at"] < max_age)):
        return {**entry["results"], "freshness": _freshness(entry, current)}
    started = time.perf_counter()
    results = study_results(study)
    entry = {"fingerprint": current, "computed_at": time.time(), "results": results,
             "seconds": time.perf_counter() - started}
    cache.set(_key(study), entry, timeout=KEEP_SECONDS)
    return {**entry["results"], "freshness": _freshness(entry, current)}
