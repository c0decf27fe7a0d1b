"""Abuse limits: fixed-window counters per client address, rater token, study or login name.

Two counter stores, both exact under concurrency:

* Redis when CACHE_URL is a redis:// URL (every web worker on every machine shares it): one
  round trip, a script of INCR and EXPIRE NX (atomic), so a window's expiry is set by its first request
  and never pushed back.
* The database otherwise (the embedded default, and any other cache backend): one atomic upsert
  (INSERT ... ON CONFLICT DO UPDATE count = count + 1 RETURNING count) into studies.RateCounter,
  on SQLite and PostgreSQL alike.

Why not django-ratelimit through Django's cache: on the file cache its incr re-sets the key's
timeout (a 30/h limit let about 30 through every 5 minutes), and the cache culls entries at 300,
so requests with random tokens wiped everyone's counters; through the Redis cache backend it costs
three round trips per check.

The window's key carries its number (now // period), so its expiry is the window's end, written
once; expired rows are deleted by the studies' periodic job and, at most once a minute, by the web
process that counts (so a site without Celery beat stays small). Live rows are never deleted.

A counter that cannot be written refuses the request (LimiterUnavailable: 503 with Retry-After,
logged at ERROR): a limit that silently lets everything through when its store is down is no limit.

Client addresses: REMOTE_ADDR, unless it is one of TRUSTED_PROXIES; then the rightmost hop of
X-Forwarded-For (or RATELIMIT_IP_META_KEY's header) that is not a trusted proxy. Hops left of it
were written by the client and are never read. IPv6 addresses count by their /64 (one host has a
whole /64).
"""
from __future__ import annotations

import hashlib
import ipaddress
import logging
import re
import time
from datetime import UTC, datetime
from functools import lru_cache

import redis
from django.conf import settings
from django.db import connection, transaction

from .errors import LimiterUnavailable, RateLimited
from .models import RateCounter

log = logging.getLogger(__name__)

PRUNE_EVERY_S = 60.0
_last_prune = [0.0]


def rate(name: str) -> str | None:
    """The configured rate ("N/period"), or None when that limit is switched off ("" or "off")."""
    value = settings.STUDIES_RATES.get(name)
    return value if value and value != "off" else None


_RATE = re.compile(r"(\d+)/(\d*)([smhd])")
_PERIOD = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def split_rate(rate: str) -> tuple[int, int]:
    """"120/m" -> (120, 60); "5/10s" -> (5, 10): django-ratelimit's notation."""
    match = _RATE.fullmatch(rate.strip())
    if not match:
        raise ValueError(f"not a rate: {rate!r} (use N/s, N/m, N/h, N/d, e.g. 120/m)")
    count, multiple, unit = match.groups()
    return int(count), int(multiple or 1) * _PERIOD[unit]


# --- client addresses ------------------------------------------------------------------------

@lru_cache(maxsize=8)
def _networks(proxies: tuple[str, ...]) -> tuple:
    return tuple(ipaddress.ip_network(p.strip(), strict=False) for p in proxies if p.strip())


def _parse_ip(raw: str):
    """An address from a header hop: '1.2.3.4', '1.2.3.4:5678', '::1', '[::1]:80'; None if not one."""
    raw = raw.strip()
    if raw.startswith("["):
        raw = raw[1:].split("]", 1)[0]
    elif raw.count(":") == 1:
        raw = raw.split(":", 1)[0]
    try:
        return ipaddress.ip_address(raw)
    except ValueError:
        return None


def _bucket(address) -> str:
    if address.version == 6:
        if address.ipv4_mapped:  # ::ffff:1.2.3.4 is the IPv4 client 1.2.3.4 (dual-stack sockets)
            return str(address.ipv4_mapped)
        return str(ipaddress.ip_network(f"{address}/64", strict=False).network_address)
    return str(address)


def client_address(request) -> str:
    """The address a request is counted under (see the module's docstring)."""
    remote = _parse_ip(request.META.get("REMOTE_ADDR") or "")
    if remote is None:
        return "unknown"
    trusted = _networks(tuple(getattr(settings, "TRUSTED_PROXIES", ())))
    if not any(remote in net for net in trusted):
        return _bucket(remote)  # not from our proxy: whatever headers it sent were written by the client
    header = getattr(settings, "RATELIMIT_IP_META_KEY", None) or "HTTP_X_FORWARDED_FOR"
    nearest = remote
    for hop in reversed((request.META.get(header) or "").split(",")):
        address = _parse_ip(hop)
        if address is None:
            break  # a proxy of ours writes addresses; anything else left of here is the client's text
        if not any(address in net for net in trusted):
            return _bucket(address)
        nearest = address
    return _bucket(nearest)


# --- counters --------------------------------------------------------------------------------

def _key(name: str, value: str, window: int) -> str:
    prefix = getattr(settings, "RATELIMIT_CACHE_PREFIX", "rl:")
    digest = hashlib.sha256(f"{prefix}\0{name}\0{value}".encode()).hexdigest()[:40]
    return f"{name[:40]}:{digest}:{window}"


@lru_cache(maxsize=4)
def _redis_for(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)


# INCR and EXPIRE NX (the expiry set once, by the window's first request) as one script: atomic
# like MULTI/EXEC, but one command to send and one reply to parse (the pipeline's four commands
# and their replies cost about 0.5 ms of redis-py per request, profiled on the rater path).
_COUNT_SCRIPT = """
local count = redis.call('INCR', KEYS[1])
redis.call('EXPIRE', KEYS[1], ARGV[1], 'NX')
return count
"""


@lru_cache(maxsize=4)
def _count_script(url: str):
    return _redis_for(url).register_script(_COUNT_SCRIPT)


def _count_in_redis(url: str, key: str, period: int) -> int:
    full_key = f"{settings.CACHES['default'].get('KEY_PREFIX', '')}:{key}"
    return int(_count_script(url)(keys=[full_key], args=[period + 5]))


def _peek_in_redis(url: str, key: str) -> int:
    value = _redis_for(url).get(f"{settings.CACHES['default'].get('KEY_PREFIX', '')}:{key}")
    return int(value or 0)


def _count_in_database(key: str, expires_at: datetime) -> int:
    quote = connection.ops.quote_name
    table = quote(RateCounter._meta.db_table)
    own_transaction = not connection.in_atomic_block  # never loosen a caller's transaction (an answer's)
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql" and own_transaction:
            # A count lost to a crash costs nothing; waiting for its WAL flush cost 1.8 ms per count
            # (measured on the 2-core machine; 0.5 ms without): this transaction commits without it.
            cursor.execute("SET LOCAL synchronous_commit TO OFF")
        cursor.execute(
            f"INSERT INTO {table} ({quote('key')}, {quote('count')}, {quote('expires_at')}) VALUES (%s, 1, %s) "
            f"ON CONFLICT ({quote('key')}) DO UPDATE SET {quote('count')} = {table}.{quote('count')} + 1 "
            f"RETURNING {quote('count')}",
            [key, connection.ops.adapt_datetimefield_value(expires_at)])
        (count,) = cursor.fetchone()
    now = time.monotonic()
    if now - _last_prune[0] > PRUNE_EVERY_S:
        _last_prune[0] = now
        prune_expired()
    return int(count)


def prune_expired() -> int:
    """Delete the database counters of windows that have ended (never a live one)."""
    deleted, _ = RateCounter.objects.filter(expires_at__lt=datetime.fromtimestamp(time.time(), UTC)).delete()
    return deleted


def _use_redis() -> str:
    url = getattr(settings, "CACHE_URL", "") or ""
    return url if url.startswith(("redis://", "rediss://")) else ""


def _window(limit: str) -> tuple[int, int, int, int]:
    """(allowed, period, window number, seconds left in it)."""
    allowed, period = split_rate(limit)
    now = int(time.time())
    window = now // period
    return allowed, period, window, (window + 1) * period - now


def _refuse_unavailable(name: str, retry_after: int):
    log.error("rate limit %s could not be counted (counter store unavailable): request refused", name,
              exc_info=True)
    return LimiterUnavailable("The service is busy; please try again in a moment.", retry_after=retry_after)


def hit(name: str, value: str) -> tuple[int, int, int]:
    """Count one request against limit `name` for `value`: (count, allowed, seconds left).
    Raises LimiterUnavailable when the counter cannot be written."""
    allowed, period, window, left = _window(rate(name))
    key = _key(f"studies.{name}", value, window)
    url = _use_redis()
    try:
        if url:
            count = _count_in_redis(url, key, period)
        else:
            count = _count_in_database(key, datetime.fromtimestamp((window + 1) * period, UTC))
    except Exception as error:  # noqa: BLE001 (any store error: refuse, loudly)
        raise _refuse_unavailable(name, min(left, 30)) from error
    return count, allowed, left


def peek(name: str, value: str) -> tuple[int, int, int]:
    """The count so far in this window, without adding to it (same return and errors as hit)."""
    allowed, period, window, left = _window(rate(name))
    key = _key(f"studies.{name}", value, window)
    url = _use_redis()
    try:
        if url:
            count = _peek_in_redis(url, key)
        else:
            count = RateCounter.objects.filter(key=key).values_list("count", flat=True).first() or 0
    except Exception as error:  # noqa: BLE001
        raise _refuse_unavailable(name, min(left, 30)) from error
    return count, allowed, left


def check(request, name: str, value: str | None = None) -> None:
    """Count this request against limit `name` for `value` (None: the client's address, see
    client_address); raise RateLimited (429) when over it, LimiterUnavailable (503) when the counter
    store cannot be reached."""
    if rate(name) is None:
        return
    count, allowed, left = hit(name, value if value is not None else client_address(request))
    if count > allowed:
        raise RateLimited("Too many requests; please wait a moment and try again.", retry_after=max(left, 1))


def over(name: str, value: str) -> int:
    """Seconds until `value` may try again when it already used up limit `name`, else 0 (counts nothing)."""
    if rate(name) is None:
        return 0
    count, allowed, left = peek(name, value)
    return max(left, 1) if count >= allowed else 0


def count(name: str, value: str) -> None:
    """Add one to limit `name` for `value` (e.g. a failed login), refusing nothing."""
    if rate(name) is not None:
        hit(name, value)
