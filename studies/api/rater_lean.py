"""The rater endpoints' lean path: what a rater page sends, answered without DRF's machinery.

A rater page calls next + answer in a loop; DRF's request wrapping, content negotiation, parser
selection and a fresh AnswerSerializer (its fields deep-copied per request) cost more CPU than the
answer's two statements (profiled over the test client: about half of an answer's Python time).
So a request in the form the page sends (GET with an Accept that takes JSON; POST with
`Content-Type: application/json` and a JSON object whose fields all have their canonical types and
ranges) is answered here, and anything else goes to the DRF view, which answers it exactly as
before: every error body for a malformed request is still DRF's (this path never writes one of
its own for input it did not fully check; `fast_answer` accepts only bodies the serializer accepts
and returns what it would; tests/studies/api/test_rater_lean.py compares the two on random bodies).

Kept on this path as on DRF's: one limit count per request (the DRF view is told it was counted),
the unknown-token limit, the body-size cap, strict JSON (no NaN, no repeated keys, depth), the
study's own checks in save_answer (4xx StudyErrors), blinding (the same rater_state payload).
"""
from __future__ import annotations

import json
import re
import uuid

from django.http import HttpResponse
from rest_framework.exceptions import ValidationError

from .. import limits
from ..errors import RateLimited, StudyError
from ..models import Choice
from ..selectors.rater import completion_info, participant_for_token, rater_state
from ..services.responses import SubmittedAnswer, save_answer

COUNTED = "studies.rate_counted"    # request.META flag: this request's limit was counted already
_TRIAL_KEY = re.compile(r"[A-Za-z0-9_-]{1,40}\Z")
_CANONICAL_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\Z")
_CHOICES = frozenset(Choice.values)
_FIELDS = frozenset({"trial", "client_id", "rating", "choice", "response_time_ms", "play_count", "played_to_end",
                     "answered_at", "sound_started_at", "sound_ended_at"})
_REQUIRED = ("trial", "client_id", "response_time_ms", "play_count")
_TIMES = ("answered_at", "sound_started_at", "sound_ended_at")


class UnknownRater(StudyError):
    status = 404
    code = "not_found"

    def __init__(self):
        super().__init__("Unknown rater link.")


def refuse_constant(name):
    raise ValueError(f"{name} is not a number JSON allows")


def refuse_duplicate_keys(pairs):
    keys = [key for key, _ in pairs]
    if len(set(keys)) != len(keys):
        raise ValueError("an object repeats a key")
    return dict(pairs)


def parse_strict_json(data: bytes):
    """A body as StrictJSONParser reads it; ValueError for anything that parser refuses."""
    try:
        return json.loads(data.decode("utf-8"), parse_constant=refuse_constant,
                          object_pairs_hook=refuse_duplicate_keys)
    except RecursionError:
        raise ValueError("JSON nested too deeply.") from None


def _int_in(value, low: int, high: int) -> bool:
    return type(value) is int and low <= value <= high


def fast_answer(body: dict) -> SubmittedAnswer | None:
    """The answer in `body` if it is in the page's canonical form (what AnswerSerializer would
    accept, giving the same values), else None: the serializer then judges it and words the error."""
    from .serializers import AnswerSerializer  # the serializer's own date-time field: one parser of times
    if not _FIELDS.issuperset(body) or any(name not in body for name in _REQUIRED):
        return None
    trial, client_id = body["trial"], body["client_id"]
    if type(trial) is not str or not _TRIAL_KEY.match(trial):
        return None
    if type(client_id) is not str or not _CANONICAL_UUID.match(client_id):
        return None
    if not _int_in(body["response_time_ms"], 0, 86_400_000) or not _int_in(body["play_count"], 1, 10_000):
        return None
    rating, choice = body.get("rating"), body.get("choice")
    if rating is not None and not _int_in(rating, 1, 5):
        return None
    if "choice" in body and (type(choice) is not str or choice not in _CHOICES):
        return None
    if (rating is not None) == bool(choice):    # exactly one of the two (the serializer's validate())
        return None
    played = body.get("played_to_end", False)
    if type(played) is not bool:
        return None
    values = {"trial": trial, "client_id": uuid.UUID(client_id), "response_time_ms": body["response_time_ms"],
              "play_count": body["play_count"], "played_to_end": played}
    if "rating" in body:
        values["rating"] = rating
    if "choice" in body:
        values["choice"] = choice
    for name in _TIMES:
        if name in body:
            value = body[name]
            if value is None:
                values[name] = None
                continue
            if type(value) is not str:
                return None
            try:
                values[name] = AnswerSerializer._declared_fields[name].to_internal_value(value)
            except ValidationError:
                return None
    return SubmittedAnswer(**values)


def _json(body: dict, status: int = 200, headers=None) -> HttpResponse:
    # DRF's JSONRenderer writes compact UTF-8; the same here
    response = HttpResponse(json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode(),
                            content_type="application/json", status=status, headers=headers)
    response["Vary"] = "Accept"
    return response


def _refusal(error: StudyError) -> HttpResponse:
    headers = {"Retry-After": str(error.retry_after)} if isinstance(error, RateLimited) else None
    return _json(error.as_json(), error.status, headers)


def takes_json(request) -> bool:
    """An Accept header DRF's negotiation would answer with its JSON renderer, in plain form."""
    accept = request.META.get("HTTP_ACCEPT", "")
    return ";" not in accept and (not accept or "*/*" in accept or "application/json" in accept)


def _rater(request, token: str):
    limits.check(request, "api_token", token)
    request.META[COUNTED] = True
    participant = participant_for_token(token)
    if participant is None:
        limits.check(request, "bad_token_ip")
        raise UnknownRater()
    return participant


def lean_state(request, token: str, limit: int | None):
    try:
        return _json(rater_state(_rater(request, token), limit=limit))
    except StudyError as error:
        return _refusal(error)


def lean_answer(request, token: str, max_bytes: int):
    """The answer, or None where the DRF view must judge the request (after this counted it)."""
    content_type = request.META.get("CONTENT_TYPE", "")
    if content_type.split(";", 1)[0].strip() != "application/json":
        return None
    try:
        participant = _rater(request, token)
    except StudyError as error:
        return _refusal(error)
    length = request.META.get("CONTENT_LENGTH") or "0"
    if not length.isdigit() or not 0 < int(length) <= max_bytes:
        return None
    try:
        body = parse_strict_json(request.body)
    except ValueError:
        return None
    answer = fast_answer(body) if isinstance(body, dict) else None
    if answer is None:
        return None
    try:
        outcome = save_answer(participant, answer)
    except StudyError as error:
        return _refusal(error)
    result = {"saved": True, "duplicate": not outcome.created,
              "progress": {"answered": outcome.answered, "total": outcome.total}, "done": outcome.done}
    if outcome.done:
        result["completion"] = completion_info(participant)
    return _json(result, 201 if outcome.created else 200)
