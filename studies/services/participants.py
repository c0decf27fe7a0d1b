"""Raters arriving, coming back and keeping their trials (writes; what they are shown is in
studies.selectors.rater)."""
from __future__ import annotations

from dataclasses import dataclass

from django.db import IntegrityError

from ..assignment import assign_participant, resume_participant
from ..errors import BadLink, CrowdIdTaken, StudyNotOpen
from ..models import Participant, Study, StudyState
from ..selectors.rater import rater_link  # noqa: F401  (re-exported for callers that build links)

MAX_URL_PARAMS = 30
MAX_PARAM_LENGTH = 300
MAX_KEY_LENGTH = 100
CROWD_FIELD_LENGTH = 200  # Participant.crowd_* columns
MTURK_PREVIEW_ASSIGNMENT = "ASSIGNMENT_ID_NOT_AVAILABLE"  # what MTurk sends before the worker accepts


def _printable(text: str) -> str:
    # PostgreSQL text and jsonb cannot hold NUL, and no platform sends control characters.
    return "".join(ch for ch in text if ch >= " " or ch == "\t")


def clean_url_params(params) -> dict[str, str]:
    """The link's query parameters, bounded in number and size, control characters removed."""
    cleaned = {}
    for key in list(params)[:MAX_URL_PARAMS]:
        value = params.get(key) if hasattr(params, "get") else params[key]
        cleaned[_printable(str(key))[:MAX_KEY_LENGTH]] = _printable(str(value))[:MAX_PARAM_LENGTH]
    return cleaned


def crowd_identity(params: dict[str, str]) -> dict[str, str]:
    """Prolific appends PROLIFIC_PID, STUDY_ID, SESSION_ID; MTurk passes workerId, assignmentId, hitId.

    Raises BadLink when one of them does not fit (ids are short ASCII on both platforms).
    """
    if params.get("PROLIFIC_PID"):
        identity = {"platform": "prolific", "crowd_participant_id": params["PROLIFIC_PID"],
                    "crowd_study_id": params.get("STUDY_ID", ""), "crowd_session_id": params.get("SESSION_ID", "")}
        names = {"crowd_participant_id": "PROLIFIC_PID", "crowd_study_id": "STUDY_ID", "crowd_session_id": "SESSION_ID"}
    elif params.get("workerId"):
        identity = {"platform": "mturk", "crowd_participant_id": params["workerId"],
                    "crowd_study_id": params.get("hitId", ""), "crowd_session_id": params.get("assignmentId", "")}
        names = {"crowd_participant_id": "workerId", "crowd_study_id": "hitId", "crowd_session_id": "assignmentId"}
    else:
        return {"platform": "", "crowd_participant_id": "", "crowd_study_id": "", "crowd_session_id": ""}
    for field, name in names.items():
        if len(identity[field]) > CROWD_FIELD_LENGTH:
            raise BadLink(f"This link's {name} is not valid (longer than {CROWD_FIELD_LENGTH} characters).",
                          fields={name: "too long"})
    return identity


@dataclass(frozen=True)
class EntryProof:
    """What a browser shows to take over an existing crowd rater: the token from its signed cookie
    (set in the browser that started), if any."""

    cookie_token: str | None = None


def _returning(existing: Participant, identity: dict, proof: EntryProof) -> Participant:
    """A crowd id that already started: only the browser that started it (its cookie) or the same
    platform session (Prolific SESSION_ID / MTurk assignmentId, which only that worker's platform
    page carries) gets the rater back; anyone else who merely knows the id gets nothing."""
    if proof.cookie_token and proof.cookie_token == existing.token:
        return existing
    session = identity["crowd_session_id"]
    if session and session == existing.crowd_session_id and session != MTURK_PREVIEW_ASSIGNMENT:
        return existing
    raise CrowdIdTaken("This participant id has already started this study in another browser. Please continue in "
                       "that browser, or with the personal link shown on your first page; your progress is kept there.")


def start_participant(study: Study, *, url_params=None, user_agent: str = "", preview: bool = False,
                      proof: EntryProof = EntryProof()) -> Participant:
    """A new rater with their trials assigned, or a returning crowd worker who proved who they are.

    Raises StudyNotOpen for a study that is not open (previews may run on drafts), StudyFull when no
    trial has room left, BadLink for crowd ids that do not fit, CrowdIdTaken for a crowd id that
    already started elsewhere without proof.
    """
    params = clean_url_params(url_params or {})
    allowed = study.state in (StudyState.DRAFT, StudyState.OPEN) if preview else study.state == StudyState.OPEN
    if not allowed:
        raise StudyNotOpen("This study is not open for answers.")
    identity = crowd_identity(params) if not preview else crowd_identity({})
    crowd = identity["crowd_participant_id"]
    if crowd:
        existing = Participant.objects.filter(study=study, platform=identity["platform"],
                                              crowd_participant_id=crowd).first()
        if existing:
            return _returning(existing, identity, proof)
    participant = Participant(study=study, is_preview=preview, url_params=params,
                              user_agent=_printable(user_agent)[:400], **identity)
    try:
        assign_participant(participant)  # creates the rater with their trials, in one transaction
    except IntegrityError:  # the same crowd worker arrived twice at once: the first row wins
        existing = Participant.objects.filter(study=study, platform=identity["platform"],
                                              crowd_participant_id=crowd).first()
        if existing is None:
            raise
        return _returning(existing, identity, proof)
    return participant


def preview_participant(study: Study) -> Participant:
    """A staff preview rater: sees the study exactly as a rater would; never counted."""
    return start_participant(study, preview=True)


def resume(participant: Participant) -> None:
    """The rater page is open (POST on load and every few minutes): keep, give back, top up trials."""
    resume_participant(participant)
