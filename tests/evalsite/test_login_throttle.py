"""Admin login throttling: failed logins are counted per address and per user name (the site's abuse
limits); beyond them the login answers 429 with Retry-After, even with the right password, while
other addresses and successful logins are untouched. Over real HTTP against the live server."""
import re
import urllib.error
import urllib.parse
import urllib.request
from http.cookiejar import CookieJar

import pytest

pytestmark = pytest.mark.django_db(transaction=True)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def login(base: str, username: str, password: str, forwarded: str | None = None) -> tuple[int, dict]:
    """A browser's login: GET the form (CSRF cookie and token), POST it back."""
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()), _NoRedirect)
    headers = {"X-Forwarded-For": forwarded} if forwarded else {}
    with opener.open(urllib.request.Request(f"{base}/admin/login/", headers=headers), timeout=30) as page:
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.read().decode()).group(1)
    body = urllib.parse.urlencode({"csrfmiddlewaretoken": token, "username": username, "password": password,
                                   "next": "/admin/"}).encode()
    request = urllib.request.Request(f"{base}/admin/login/", data=body, headers={**headers, "Referer": f"{base}/admin/login/"})
    try:
        with opener.open(request, timeout=30) as response:
            return response.status, dict(response.headers)
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers)


def test_failed_logins_are_throttled_per_address_and_per_name(live_server, staff_user, settings):
    settings.CACHE_URL = ""  # the embedded default: counters in the database
    settings.TRUSTED_PROXIES = ["127.0.0.1"]  # so each test "address" below is its own client
    settings.STUDIES_RATES = {**settings.STUDIES_RATES, "login_ip": "3/h", "login_user": "5/h"}
    base = live_server.url
    assert login(base, "staff", "staff-pass-123", "198.51.100.1")[0] == 302  # a success counts nothing
    assert [login(base, "staff", "wrong", "198.51.100.1")[0] for _ in range(3)] == [200, 200, 200]
    status, headers = login(base, "staff", "staff-pass-123", "198.51.100.1")  # right password, too late
    assert status == 429 and int(headers["Retry-After"]) > 0
    assert login(base, "staff", "staff-pass-123", "198.51.100.2")[0] == 302  # another address is not locked out
    # Guessing one name from many addresses: the name's own limit.
    assert [login(base, "staff", "wrong", f"203.0.113.{k}")[0] for k in range(2)] == [200, 200]
    assert login(base, "Staff", "staff-pass-123", "203.0.113.50")[0] == 429  # names count case-blind
    assert login(base, "someone-else", "wrong", "203.0.113.51")[0] == 200


def test_a_counter_store_that_is_down_refuses_logins(live_server, staff_user, settings):
    settings.CACHE_URL = "redis://127.0.0.1:1/0"
    assert login(live_server.url, "staff", "staff-pass-123")[0] == 503
