"""The abuse limits hold what they say on every counter store, over real HTTP against the live server:
a window's expiry is set once, a flood of new keys cannot wipe live counters, a counter store that is
down refuses (503) instead of letting everything through, and X-Forwarded-For is read only from
trusted proxies (the rightmost hop that is not one)."""
import logging
import os
import re
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid

import pytest

from studies.services import build_rating_study, open_study

pytestmark = pytest.mark.django_db(transaction=True)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


_opener = urllib.request.build_opener(_NoRedirect)


def http(url: str, data: dict | None = None, headers: dict | None = None) -> tuple[int, dict]:
    body = urllib.parse.urlencode(data).encode() if data is not None else None
    request = urllib.request.Request(url, data=body, headers=headers or {})
    try:
        with _opener.open(request, timeout=30) as response:
            return response.status, dict(response.headers)
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers)


@pytest.fixture
def study(world):
    return open_study(build_rating_study("lim", world["checkpoints"], target_votes=50, catch_trials=0,
                                         require_full_playback=False))


@pytest.fixture
def join_url(live_server, study):
    return f"{live_server.url}/s/{study.public_key}/"


def _form_fields(url: str, headers: dict) -> dict:
    """The hidden fields of the study page's Start form, as a browser would send them back."""
    with _opener.open(urllib.request.Request(url, headers=headers), timeout=30) as response:
        page = response.read().decode()
    return dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page))


def join(join_url, **headers) -> int:
    return http(join_url, {**_form_fields(join_url, headers), "consent": "yes"}, headers)[0]


@pytest.fixture
def no_redis(settings):
    """These tests are about the embedded default: counters in the database (CACHE_URL unset)."""
    settings.CACHE_URL = ""


@pytest.fixture(params=["database", "redis"])
def store(request, settings):
    """Each counter store in turn: the database (CACHE_URL unset) and Redis (skipped without a server)."""
    if request.param == "redis":
        url = os.environ.get("CACHE_URL") or os.environ.get("CELERY_BROKER_URL", "")
        if not url.startswith("redis://"):
            pytest.skip("needs a Redis server (CI and the development machines have one)")
        settings.CACHE_URL = url  # counters are prefixed per test: nothing else there is touched
    else:
        settings.CACHE_URL = ""
    return request.param


def test_a_window_expires_when_it_ends_not_five_minutes_after_its_last_request(join_url, settings, monkeypatch,
                                                                             store):
    settings.STUDIES_RATES = {**settings.STUDIES_RATES, "join_ip": "3/h"}
    real = time.time
    offset = [3600 - real() % 3600 + 5]  # 5 s into the next hour: the whole test stays in one window
    monkeypatch.setattr(time, "time", lambda: real() + offset[0])
    assert [join(join_url) for _ in range(4)] == [302, 302, 302, 429]
    offset[0] += 400  # the file cache re-set a 300 s timeout on every count: this used to start afresh
    status, headers = http(join_url, {**_form_fields(join_url, {}), "consent": "yes"})
    assert status == 429 and 3000 < int(headers["Retry-After"]) <= 3600 - 400


def test_a_flood_of_new_tokens_does_not_wipe_live_counters(live_server, join_url, settings, no_redis):
    settings.STUDIES_RATES = {**settings.STUDIES_RATES, "join_ip": "2/h", "bad_token_ip": "off"}
    assert [join(join_url) for _ in range(3)] == [302, 302, 429]
    for _ in range(700):  # each a counter of its own; the file cache culled a third past 300 entries
        assert http(f"{live_server.url}/api/studies/rater/{uuid.uuid4().hex}/")[0] == 404
    assert join(join_url) == 429


def test_a_counter_store_that_is_down_refuses_loudly(join_url, settings, caplog):
    settings.CACHE_URL = "redis://127.0.0.1:1/0"  # nothing listens there
    with caplog.at_level(logging.ERROR, logger="studies.limits"):
        status, headers = http(join_url, {**_form_fields(join_url, {}), "consent": "yes"})
    assert status == 503 and int(headers["Retry-After"]) >= 1
    assert any("join_ip" in r.getMessage() and "refused" in r.getMessage() for r in caplog.records)


def test_x_forwarded_for_is_read_only_from_trusted_proxies(join_url, settings, store):
    settings.STUDIES_RATES = {**settings.STUDIES_RATES, "join_ip": "2/h"}
    settings.RATELIMIT_IP_META_KEY = "HTTP_X_FORWARDED_FOR"  # as a deployment behind a proxy had it
    # Not behind a trusted proxy: a client writing its own X-Forwarded-For is still one address.
    settings.TRUSTED_PROXIES = []
    assert [join(join_url, **{"X-Forwarded-For": f"198.51.100.{k}"}) for k in range(3)] == [302, 302, 429]
    # Behind ours (the live server's client is 127.0.0.1): the proxy appends the real address on the
    # right; whatever the client wrote on the left changes nothing.
    settings.TRUSTED_PROXIES = ["127.0.0.1", "10.0.0.0/8"]
    codes = [join(join_url, **{"X-Forwarded-For": f"198.51.100.{k}, 203.0.113.7"}) for k in range(3)]
    assert codes == [302, 302, 429]
    # Two proxies of ours in a row: the rightmost hop that is not one of them is the client.
    codes = [join(join_url, **{"X-Forwarded-For": f"192.0.2.{k}, 203.0.113.8, 10.1.2.3"}) for k in range(3)]
    assert codes == [302, 302, 429]
    assert join(join_url, **{"X-Forwarded-For": "203.0.113.9"}) == 302  # another client
