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
import ipaddress

from django.conf import settings
from django.core import signing

from . import limits
from .errors import EntryRefused

SALT = "studies.entry"
# Networks a site's own proxies and a lab's machines live in (RFC 1918, unique local IPv6).
_LOCAL_NETWORKS = tuple(ipaddress.ip_network(net) for net in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16",
                                                               "fc00::/7"))
PLATFORM_ORIGINS = ("https://app.prolific.com", "https://www.prolific.com")


def address_key(address: str) -> str:
    """A keyed hash of a client address: compared and counted, never stored or shown as it is."""
    if not address or address == "unknown":
        return ""
    return hmac.new(settings.SECRET_KEY.encode(), f"studies.address:{address}".encode(),
                    hashlib.sha256).hexdigest()[:32]


def holder_key(address: str) -> str:
    """The key raters are capped under per address (studies.services.admission), or "" for no cap: a
    loopback or private address is a proxy of ours that was not named in TRUSTED_PROXIES (every
    rater would share it, and three raters would fill the site) or a lab's own network."""
    try:
        parsed = ipaddress.ip_address(address.split("/")[0])
    except ValueError:
        return ""
    if parsed.is_loopback or parsed.is_link_local or parsed.is_unspecified or any(
            parsed.version == net.version and parsed in net for net in _LOCAL_NETWORKS):
        return ""
    return address_key(address)


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
