"""Rater endpoints. The token in the URL is the only credential: no session, no CSRF, no account.

GET endpoints only read. POST .../session/ keeps the rater's trials while the page is open; POST
.../answers/ stores one answer. Every refusal is a 4xx JSON body {"error", "code", "fields"?} and
stores nothing. Every request counts against its token's limit, and a request for a token that does
not exist against its address's limit (429 with Retry-After beyond them).
"""
from __future__ import annotations

import json

from django.core.exceptions import RequestDataTooBig
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import APIException, ParseError, UnsupportedMediaType
from rest_framework.parsers import JSONParser
from rest_framework.permissions import AllowAny
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from .. import limits
from . import rater_lean
from .rater_lean import UnknownRater, refuse_constant, refuse_duplicate_keys
from ..errors import RateLimited, StudyError
from ..selectors.rater import completion_info, participant_for_token, rater_state
from ..services.participants import resume
from ..services.responses import SubmittedAnswer, save_answer
from .serializers import AnswerResultSerializer, AnswerSerializer, ErrorSerializer, RaterStateSerializer

MAX_ANSWER_BYTES = 16 * 1024  # an answer is ~300 bytes; anything near this is not from our page


class StrictJSONParser(JSONParser):
    """JSON as RFC 8259 has it: no NaN/Infinity, no repeated keys, and a body nested too deeply for
    Python's parser (thousands of '[') is a 400, not a RecursionError."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            text = stream.read().decode("utf-8") if stream is not None else ""
            return json.loads(text, parse_constant=refuse_constant, object_pairs_hook=refuse_duplicate_keys)
        except RecursionError:
            raise ParseError("JSON nested too deeply.") from None
        except (ValueError, UnicodeDecodeError) as error:
            raise ParseError(f"JSON parse error - {error}") from None


def _error(message: str, code: str, http_status: int, fields=None, headers=None) -> Response:
    body = {"error": message, "code": code}
    if fields:
        body["fields"] = fields
    return Response(body, status=http_status, headers=headers)


class RaterView(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]
    parser_classes = [StrictJSONParser]
    renderer_classes = [JSONRenderer]

    # The lean path (rater_lean) answers requests in the page's own form; this view the rest.
    lean_method: str | None = None

    @classmethod
    def as_view(cls, **initkwargs):
        full = super().as_view(**initkwargs)
        if cls.lean_method is None:
            return full
        lean, method = cls.lean, cls.lean_method

        def view(request, token: str):
            if request.method == method and rater_lean.takes_json(request):
                response = lean(request, token)
                if response is not None:
                    return response
            return full(request, token=token)

        # what Django's CSRF middleware and drf-spectacular read from DRF's view function
        view.csrf_exempt, view.cls, view.initkwargs = True, full.cls, full.initkwargs
        return view

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        if not request.META.get(rater_lean.COUNTED):  # the lean path counted it before handing over
            limits.check(request, "api_token", kwargs.get("token", ""))

    def participant(self, token: str):
        participant = participant_for_token(token)
        if participant is None:
            # Guessing tokens is limited per address; a real rater's calls count against their token.
            limits.check(self.request, "bad_token_ip")
            raise UnknownRater()
        return participant

    def handle_exception(self, exc):
        if isinstance(exc, RateLimited):
            return _error(exc.message, exc.code, exc.status, headers={"Retry-After": str(exc.retry_after)})
        if isinstance(exc, StudyError):
            return _error(exc.message, exc.code, exc.status, exc.fields)
        if isinstance(exc, RequestDataTooBig):
            return _error("The request body is too large.", "too_large", status.HTTP_413_REQUEST_ENTITY_TOO_LARGE)
        if isinstance(exc, UnsupportedMediaType):
            return _error("Send the answer as JSON (Content-Type: application/json).", "unsupported_media_type",
                          exc.status_code)
        if isinstance(exc, ParseError):
            return _error(f"The body is not valid JSON: {exc.detail}", "bad_json", exc.status_code)
        if isinstance(exc, APIException):
            return _error(str(exc.detail), exc.default_code, exc.status_code)
        return super().handle_exception(exc)


@extend_schema(responses={200: RaterStateSerializer, 404: ErrorSerializer, 429: ErrorSerializer}, tags=["rater"])
class RaterStateView(RaterView):
    """Progress and every pending trial in order (the page preloads them all and works offline). Reads only."""

    lean_method = "GET"

    @staticmethod
    def lean(request, token):
        return rater_lean.lean_state(request, token, None)

    def get(self, request, token: str):
        return Response(rater_state(self.participant(token)))


@extend_schema(responses={200: RaterStateSerializer, 404: ErrorSerializer, 429: ErrorSerializer}, tags=["rater"])
class RaterNextView(RaterView):
    """Progress and the next trial only. Reads only."""

    lean_method = "GET"

    @staticmethod
    def lean(request, token):
        return rater_lean.lean_state(request, token, 1)

    def get(self, request, token: str):
        return Response(rater_state(self.participant(token), limit=1))


class RaterSessionView(RaterView):
    @extend_schema(request=None, tags=["rater"], responses={200: RaterStateSerializer, 404: ErrorSerializer})
    def post(self, request, token: str):
        """The rater page is open: keep this rater's trials for another TTL, give back the ones that
        expired while away where there is still room (others are replaced), and return the state."""
        participant = self.participant(token)
        resume(participant)
        return Response(rater_state(participant))


class RaterAnswerView(RaterView):
    lean_method = "POST"

    @staticmethod
    def lean(request, token):
        return rater_lean.lean_answer(request, token, MAX_ANSWER_BYTES)

    @extend_schema(request=AnswerSerializer, tags=["rater"], responses={
        201: AnswerResultSerializer, 200: OpenApiResponse(AnswerResultSerializer, "a retry: already stored"),
        400: ErrorSerializer, 404: ErrorSerializer, 409: ErrorSerializer, 410: ErrorSerializer,
        413: ErrorSerializer, 429: ErrorSerializer})
    def post(self, request, token: str):
        """Store one answer. Idempotent by client_id; refused with a 4xx and nothing stored otherwise."""
        participant = self.participant(token)
        length = request.META.get("CONTENT_LENGTH") or "0"
        if not length.isdigit() or int(length) > MAX_ANSWER_BYTES:
            return _error(f"The request body is too large (at most {MAX_ANSWER_BYTES} bytes).", "too_large",
                          status.HTTP_413_REQUEST_ENTITY_TOO_LARGE)
        if not isinstance(request.data, dict):
            return _error("The body must be a JSON object.", "bad_json", status.HTTP_400_BAD_REQUEST)
        serializer = AnswerSerializer(data=request.data)
        if not serializer.is_valid():
            return _error("The answer is not valid.", "bad_answer", status.HTTP_400_BAD_REQUEST, serializer.errors)
        outcome = save_answer(participant, SubmittedAnswer(**serializer.validated_data))
        body = {"saved": True, "duplicate": not outcome.created,
                "progress": {"answered": outcome.answered, "total": outcome.total}, "done": outcome.done}
        if outcome.done:
            body["completion"] = completion_info(participant)
        return Response(body, status=status.HTTP_201_CREATED if outcome.created else status.HTTP_200_OK)
