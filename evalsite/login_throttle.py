"""Throttled admin login: failed attempts are counted per client address and per user name with
the site's abuse limits (studies/limits.py: the database, or Redis with CACHE_URL), and beyond
STUDIES_RATES["login_ip"] / ["login_user"] the login form is refused with 429 and Retry-After.

Only failures count, so a lab of researchers behind one address can log in all day. The per-name
limit stops a guesser who spreads attempts over many addresses; its price is that such a guesser
can keep that account's owner out for up to one window (30/h by default: an hour), which we take
over letting a password be guessed. A counter store that is down refuses logins (503), like the
rater endpoints.
"""
from django.contrib import admin
from django.http import HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters

from studies import limits
from studies.errors import RateLimited


def _refusal(message: str, status: int, retry_after: int) -> HttpResponse:
    return HttpResponse(message, status=status, content_type="text/plain; charset=utf-8",
                        headers={"Retry-After": str(retry_after)})


@sensitive_post_parameters()
@csrf_protect
@never_cache
def admin_login(request, extra_context=None):
    if request.method != "POST":
        return admin.site.login(request, extra_context)
    address = limits.client_address(request)
    name = (request.POST.get("username") or "").strip().casefold()[:150]
    try:
        wait = max(limits.over("login_ip", address), limits.over("login_user", name))
        if wait:
            return _refusal(f"Too many failed logins. Try again in {max(1, wait // 60)} minute(s).", 429, wait)
        response = admin.site.login(request, extra_context)
        if response.status_code != 302:  # the form came back: wrong name or password
            limits.count("login_ip", address)
            limits.count("login_user", name)
        return response
    except RateLimited as error:  # LimiterUnavailable: the counters cannot be written
        return _refusal(error.message, error.status, error.retry_after)
