"""Abuse limits for the rater endpoints, counted in Django's cache by django-ratelimit.

Per IP and per study for joins (each join creates a rater and reserves trials), per IP and per
token for the rater API. Rates come from settings (STUDIES_RATE_*, environment-driven); the cache
is Redis when CACHE_URL is set (atomic counters shared by every web worker) and a file cache under
VAR_DIR otherwise (shared by the processes of one machine; its counters can undercount a little
under races, which a single-machine demo can live with).
"""
from __future__ import annotations

import logging

from django.conf import settings
from django_ratelimit.core import get_usage

from .errors import RateLimited

log = logging.getLogger(__name__)

def rate(name: str) -> str | None:
    """The configured rate ("N/period"), or None when that limit is switched off ("" or "off")."""
    value = settings.STUDIES_RATES.get(name)
    return value if value and value != "off" else None


def check(request, name: str, value: str | None = None) -> None:
    """Count this request against limit `name` for `value` (None: the client's IP address, as
    django-ratelimit reads it: RATELIMIT_IP_META_KEY, IPv6 by /64); raise RateLimited when over it.

    A cache that cannot be reached lets the request through (logged): raters keep answering
    while the limits are down, rather than every request failing.
    """
    limit = rate(name)
    if limit is None:
        return
    try:
        key = "ip" if value is None else (lambda group, req: value)
        usage = get_usage(request, group=f"studies.{name}", key=key, rate=limit, increment=True)
    except Exception:  # noqa: BLE001 (any cache error: the limit is best effort, the answer is not)
        log.warning("rate limit %s not checked: cache unavailable", name, exc_info=True)
        return
    if usage and usage["should_limit"]:
        raise RateLimited("Too many requests; please wait a moment and try again.",
                          retry_after=max(usage["time_left"], 1))
