"""The study link's Start button, kept to the study's own page.

The entry POST needs no session or cookie (MTurk's ExternalQuestion iframe may have none), so
Django's CSRF check is off for it. Two checks stand in for it, so that a page on another site can
no longer make its visitors join (each visitor would be a rater from their own address, holding
trials, past any limit per address):

- every rendering of the page carries a signed nonce naming the study and the address it was
  served to (a keyed hash, not the address), valid STUDIES_ENTRY_NONCE_HOURS; the POST must bring
  it back from the same address. A hostile page can fetch a nonce for itself, never one for its
  visitor's address;
- a POST whose Origin header names another site is refused, unless that site is one of the crowd
  platforms (their pages may link and frame the study) or a trusted origin of ours.

A refused Start shows the page again with a fresh nonce: a rater whose address changed, or who
left the page open past the nonce's age, presses Start once more.
"""
from __future__ import annotations

import hashlib
import hmac

from django.conf import settings
from django.core import signing

from . import limits
from .errors import EntryRefused

SALT = "studies.entry"
PLATFORM_ORIGINS = ("https://app.prolific.com", "https://www.prolific.com")


def address_key(address: str) -> str:
    """A keyed hash of a client address: compared and counted, never stored or shown as it is."""
    if not address or address == "unknown":
        return ""
    return hmac.new(settings.SECRET_KEY.encode(), f"studies.address:{address}".encode(),
                    hashlib.sha256).hexdigest()[:32]


def request_address_key(request) -> str:
    return address_key(limits.client_address(request))


def entry_nonce(request, study) -> str:
    return signing.dumps({"s": study.public_key, "a": request_address_key(request)}, salt=SALT, compress=True)


def _allowed_origins(request) -> set[str]:
    own = f"{request.scheme}://{request.get_host()}"
    return {own, *getattr(settings, "CSRF_TRUSTED_ORIGINS", []), *getattr(settings, "STUDIES_FRAME_ANCESTORS", []),
            *PLATFORM_ORIGINS}


def check_entry(request, study) -> None:
    """Raise EntryRefused unless this POST came from the study's page as served to this address."""
    refused = EntryRefused("This page did not come from the study's site, or it is too old. Please press Start again.")
    origin = request.headers.get("Origin")
    if origin is not None and origin.rstrip("/") not in _allowed_origins(request):
        raise refused
    token = request.POST.get("entry_nonce", "")
    if not token or len(token) > 500:
        raise refused
    try:
        data = signing.loads(token, salt=SALT, max_age=getattr(settings, "STUDIES_ENTRY_NONCE_HOURS", 12) * 3600)
    except signing.BadSignature:  # SignatureExpired is one too
        raise refused from None
    if not isinstance(data, dict) or data.get("s") != study.public_key or data.get("a") != request_address_key(request):
        raise refused
