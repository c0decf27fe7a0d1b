"""Rater endpoints. The token in the URL is the only credential: no session, no CSRF, no account.

Every refusal is a 4xx JSON body {"error", "code", "fields"?} and stores nothing.
"""
from __future__ import annotations

from django.core.exceptions import RequestDataTooBig
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import APIException, ParseError, UnsupportedMediaType
from rest_framework.parsers import JSONParser
from rest_framework.permissions import AllowAny
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from ..errors import StudyError
from ..models import AssignmentState
from ..services.participants import completion_info, participant_for_token, rater_state
from ..services.responses import Answer, save_answer
from .serializers import AnswerResultSerializer, AnswerSerializer, ErrorSerializer, RaterStateSerializer

MAX_ANSWER_BYTES = 16 * 1024  # an answer is ~300 bytes; anything near this is not from our page


def _error(message: str, code: str, http_status: int, fields=None) -> Response:
    body = {"error": message, "code": code}
    if fields:
        body["fields"] = fields
    return Response(body, status=http_status)


class RaterView(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]
    parser_classes = [JSONParser]
    renderer_classes = [JSONRenderer]

    def participant(self, token: str):
        participant = participant_for_token(token)
        if participant is None:
            raise StudyErrorNotFound()
        return participant

    def handle_exception(self, exc):
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


class StudyErrorNotFound(StudyError):
    status = 404
    code = "not_found"

    def __init__(self):
        super().__init__("Unknown rater link.")


@extend_schema(responses={200: RaterStateSerializer, 404: ErrorSerializer}, tags=["rater"])
class RaterStateView(RaterView):
    """Progress and every pending trial in order (the page preloads them and works offline)."""

    def get(self, request, token: str):
        return Response(rater_state(self.participant(token)))


@extend_schema(responses={200: RaterStateSerializer, 404: ErrorSerializer}, tags=["rater"])
class RaterNextView(RaterView):
    """Progress and the next trial only."""

    def get(self, request, token: str):
        return Response(rater_state(self.participant(token), limit=1))


class RaterAnswerView(RaterView):
    @extend_schema(request=AnswerSerializer, tags=["rater"], responses={
        201: AnswerResultSerializer, 200: OpenApiResponse(AnswerResultSerializer, "a retry: already stored"),
        400: ErrorSerializer, 404: ErrorSerializer, 409: ErrorSerializer, 410: ErrorSerializer,
        413: ErrorSerializer})
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
        answer = Answer(**{k: v for k, v in serializer.validated_data.items() if k != "answered_at"},
                        answered_at=serializer.validated_data.get("answered_at"))
        _, created = save_answer(participant, answer)
        rows = participant.assignments.exclude(state=AssignmentState.EXPIRED).values_list("state", flat=True)
        states = list(rows)
        answered = sum(1 for s in states if s == AssignmentState.ANSWERED)
        done = answered == len(states)
        body = {"saved": True, "duplicate": not created, "progress": {"answered": answered, "total": len(states)},
                "done": done}
        if done:
            participant.refresh_from_db(fields=["completed_at"])
            body["completion"] = completion_info(participant)
        return Response(body, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)
