"""Abuse limits for the rater endpoints, counted in Django's cache by django-ratelimit, or on the
with Redis (CACHE_URL) in Redis directly.

Per IP and per study for joins (each join creates a rater and reserves trials), per IP and per
token for the rater API. Rates come from settings (STUDIES_RATE_*, environment-driven); the cache
is Redis when CACHE_URL is set (atomic counters shared by every web worker) and a file cache under
VAR_DIR otherwise (shared by the processes of one machine; its counters can undercount a little
under races, which a single-machine demo can live with).

Why the Redis path is hand-written: django-ratelimit through Django's cache API costs three Redis
round trips per check (add, exists, incr), measured at 1.1 ms per request on the 2-core machine
under load, a fifth of a rater request; the same fixed-window count is one pipelined round trip
(INCR + EXPIRE) with redis-py, which the Redis cache backend already depends on. Without Redis
(the embedded default) django-ratelimit counts in the file cache.
"""
from __future__ import annotations

import hashlib
import ipaddress
import logging
import re
import time
from functools import lru_cache

import redis
from django.conf import settings
from django_ratelimit.core import get_usage

from .errors import RateLimited

log = logging.getLogger(__name__)

def rate(name: str) -> str | None:
    """The configured rate ("N/period"), or None when that limit is switched off ("" or "off")."""
    value = settings.STUDIES_RATES.get(name)
    return value if value and value != "off" else None


_RATE = re.compile(r"(\d+)/(\d*)([smhd])")
_PERIOD = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def _split_rate(rate: str) -> tuple[int, int]:
    """"120/m" -> (120, 60); "5/10s" -> (5, 10): django-ratelimit's notation."""
    match = _RATE.fullmatch(rate.strip())
    if not match:
        raise ValueError(f"not a rate: {rate!r} (use N/s, N/m, N/h, N/d, e.g. 120/m)")
    count, multiple, unit = match.groups()
    return int(count), int(multiple or 1) * _PERIOD[unit]


@lru_cache(maxsize=4)
def _redis_for(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)


def _count_in_redis(url: str, name: str, value: str, limit: str) -> tuple[int, int, int]:
    """(count in this window, limit, seconds left): a fixed window, like django-ratelimit's."""
    allowed, period = _split_rate(limit)
    now = int(time.time())
    window = now // period
    digest = hashlib.sha256(value.encode()).hexdigest()[:32]
    key = f"{settings.CACHES['default'].get('KEY_PREFIX', '')}:{getattr(settings, 'RATELIMIT_CACHE_PREFIX', 'rl:')}" \
          f"studies.{name}:{digest}:{window}"
    pipe = _redis_for(url).pipeline(transaction=False)
    pipe.incr(key)
    pipe.expire(key, period + 5)
    count, _ = pipe.execute()
    return count, allowed, (window + 1) * period - now


def _address(request) -> str:
    """The client's address as django-ratelimit counts it: RATELIMIT_IP_META_KEY (a proxy's header)
    or REMOTE_ADDR, IPv6 addresses by their /64 (one host has a whole /64)."""
    header = getattr(settings, "RATELIMIT_IP_META_KEY", None) or "REMOTE_ADDR"
    raw = (request.META.get(header) or "").split(",")[0].strip()
    try:
        address = ipaddress.ip_address(raw)
    except ValueError:
        return "unknown"
    if address.version == 6:
        return str(ipaddress.ip_network(f"{address}/64", strict=False).network_address)
    return str(address)


def check(request, name: str, value: str | None = None) -> None:
    """Count this request against limit `name` for `value` (None: the client's IP address, as
    django-ratelimit reads it: RATELIMIT_IP_META_KEY, IPv6 by /64); raise RateLimited when over it.

    A cache that cannot be reached lets the request through (logged): raters keep answering
    while the limits are down, rather than every request failing.
    """
    limit = rate(name)
    if limit is None:
        return
    cache_url = getattr(settings, "CACHE_URL", "")
    try:
        if cache_url.startswith(("redis://", "rediss://")):
            count, allowed, left = _count_in_redis(cache_url, name, value or _address(request), limit)
            usage = {"should_limit": count > allowed, "time_left": left}
        else:
            key = "ip" if value is None else (lambda group, req: value)
            usage = get_usage(request, group=f"studies.{name}", key=key, rate=limit, increment=True)
    except Exception:  # noqa: BLE001 (any cache error: the limit is best effort, the answer is not)
        log.warning("rate limit %s not checked: cache unavailable", name, exc_info=True)
        return
    if usage and usage["should_limit"]:
        raise RateLimited("Too many requests; please wait a moment and try again.",
                          retry_after=max(usage["time_left"], 1))
