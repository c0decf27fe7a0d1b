"""The site's middleware, less what the rater API's calls do not use.

A rater page calls its API (next trial, answer) every few seconds with `credentials: "omit"`:
no cookie, no session, no account, its token in the URL the only credential, and every rater
view CSRF-exempt (there is no cookie to ride on). Sessions, authentication and messages therefore
do nothing for these calls but cost CPU on each of them (a session store, a lazy user, message
storages and the response checks), so the subclasses below skip themselves for the rater API's
own paths (RATER_API: exactly the URLs of studies/api/urls.py's rater views, nothing that
resolves to a staff view; tests/studies/api/test_rater_middleware.py checks the two agree) and
run as Django's own everywhere else. They stay subclasses so Django's checks (the admin's need
for sessions, auth and messages) still see them.

The rest of the stack runs on every request, the rater API's included: SecurityMiddleware (HTTPS
redirect, HSTS, nosniff), CommonMiddleware (ALLOWED_HOSTS through get_host, disallowed agents),
Django's own CsrfViewMiddleware (`check --deploy` looks for it by name; for an exempt view and no
cookie it only looks for the cookie), X-Frame-Options, WhiteNoise, and the Content-Security-Policy,
whose header for a rater API response (which never adds to the policy nor uses a nonce) is built
once per process instead of twice per response, and such a request gets no lazy nonce object.
"""
from __future__ import annotations

import re

from csp.constants import HEADER
from csp.middleware import CSPMiddleware as _CSPMiddleware
from csp.utils import build_policy
from django.conf import settings
from django.contrib.auth.middleware import AuthenticationMiddleware as _AuthenticationMiddleware
from django.contrib.messages.middleware import MessageMiddleware as _MessageMiddleware
from django.contrib.sessions.middleware import SessionMiddleware as _SessionMiddleware
from django.core.signals import setting_changed

# /api/studies/rater/<token>/, .../next/, .../session/, .../answers/ (the token as the URL
# converter has it). Not "rater/responses.csv" and the like: those are the staff router's.
RATER_API = re.compile(r"/api/studies/rater/[A-Za-z0-9_-]{1,64}/(?:next/|session/|answers/)?\Z")


def is_rater_api(request) -> bool:
    """A call of the rater API (decided once per request)."""
    known = request.__dict__.get("_rater_api")
    if known is None:
        known = request._rater_api = RATER_API.match(request.path_info) is not None
    return known


class SkipOnRaterApi:
    """Mixin for a MiddlewareMixin middleware: not run at all for the rater API's calls."""

    def __call__(self, request):
        if not self.async_mode and is_rater_api(request):
            return self.get_response(request)
        return super().__call__(request)

    async def __acall__(self, request):
        if is_rater_api(request):
            return await self.get_response(request)
        return await super().__acall__(request)


class SessionMiddleware(SkipOnRaterApi, _SessionMiddleware):
    pass


class AuthenticationMiddleware(SkipOnRaterApi, _AuthenticationMiddleware):
    pass


class MessageMiddleware(SkipOnRaterApi, _MessageMiddleware):
    pass


_policy: list[str | None] = []  # this process's CSP header for a response that changes nothing


def _forget_policy(*, setting, **_):
    if setting.startswith("CONTENT_SECURITY_POLICY"):
        _policy.clear()


setting_changed.connect(_forget_policy)


class CSPMiddleware(_CSPMiddleware):
    """django-csp's, with the rater API's header built once: its responses carry no per-response
    policy parts and its requests no nonce, so the header is the configured policy every time."""

    def process_request(self, request):
        if not is_rater_api(request):  # a JSON answer has no script to give a nonce to
            super().process_request(request)

    def process_response(self, request, response):
        plain = (is_rater_api(request) and not settings.DEBUG and getattr(request, "_csp_nonce", None) is None
                 and not any(getattr(response, name, None) for name in (
                     "_csp_config", "_csp_update", "_csp_replace", "_csp_exempt",
                     "_csp_config_ro", "_csp_update_ro", "_csp_replace_ro", "_csp_exempt_ro"))
                 and not getattr(settings, "CONTENT_SECURITY_POLICY_REPORT_ONLY", None)
                 and not (getattr(settings, "CONTENT_SECURITY_POLICY", None) or {}).get("EXCLUDE_URL_PREFIXES"))
        if not plain:
            return super().process_response(request, response)
        if not _policy:
            _policy.append(build_policy())
        if _policy[0] and HEADER not in response:
            response[HEADER] = _policy[0]
        return response
