"""Raters arriving, coming back and keeping their trials (writes; what they are shown is in
studies.selectors.rater)."""
from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError

from .assignment import assign_participant
from .returning import resume_participant
from ..entry_guard import holder_key
from ..errors import BadLink, CrowdEntryRefused, StudyNotOpen
from ..models import Participant, Study, StudyState

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


# One refusal for every crowd link that cannot start or resume, whether or not its id took part:
# the answer must not tell a squatter which ids are in the study.
CROWD_REFUSAL = ("This link cannot start the study. Please open the study from its page on Prolific or MTurk, so "
                 "that the link carries your session; if you already started, continue in the same browser or with "
                 "the personal link shown on your first page.")


def _session_required() -> bool:
    return getattr(settings, "STUDIES_REQUIRE_CROWD_SESSION", True)


def _crowd_rater(study: Study, identity: dict, proof: EntryProof) -> Participant | None:
    """The existing rater this crowd link names, if it proves it is theirs; None for a new one.

    A crowd id is bound to the platform session it started with (Prolific SESSION_ID, MTurk
    assignmentId: only the worker's own platform page carries them, and they cannot be guessed).
    The same session resumes anywhere; the browser that started resumes by its signed cookie.
    Another session of the same id is a rater of its own: whoever came first with a made-up session
    cannot lock the real worker out, and their answers carry a session no platform submission has
    (the export lists sessions, and marks ids seen in more than one). A link without a session is
    refused when sessions are required (STUDIES_REQUIRE_CROWD_SESSION, the default: both platforms
    send one); where they are not, the first link of an id keeps it and others are refused alike.
    """
    same_id = Participant.objects.filter(study=study, platform=identity["platform"],
                                         crowd_participant_id=identity["crowd_participant_id"])
    if proof.cookie_token:
        mine = same_id.filter(token=proof.cookie_token).first()
        if mine is not None:
            return mine
    session = identity["crowd_session_id"]
    if session == MTURK_PREVIEW_ASSIGNMENT:
        session = ""
    if not session:
        if _session_required() or same_id.exists():
            raise CrowdEntryRefused(CROWD_REFUSAL)
        return None
    return same_id.filter(crowd_session_id=session).first()


def start_participant(study: Study, *, url_params=None, user_agent: str = "", preview: bool = False,
                      proof: EntryProof = EntryProof(), address: str = "") -> Participant:
    """A new rater with their trials assigned, or a returning crowd worker who proved who they are.

    `address` is the client's address (only a keyed hash of it is stored: it caps the raters of one
    address holding trials at once). Raises StudyNotOpen for a study that is not open (previews may
    run on drafts), StudyFull when no trial has room left, StudyBusy / TooManyFromAddress over the
    hold caps, BadLink for crowd ids that do not fit, CrowdEntryRefused for a crowd link that can
    neither start nor resume.
    """
    params = clean_url_params(url_params or {})
    allowed = study.state in (StudyState.DRAFT, StudyState.OPEN) if preview else study.state == StudyState.OPEN
    if not allowed:
        raise StudyNotOpen("This study is not open for answers.")
    identity = crowd_identity(params) if not preview else crowd_identity({})
    crowd = identity["crowd_participant_id"]
    if crowd:
        existing = _crowd_rater(study, identity, proof)
        if existing:
            return existing
    participant = Participant(study=study, is_preview=preview, url_params=params,
                              user_agent=_printable(user_agent)[:400],
                              client_address="" if preview else holder_key(address), **identity)
    try:
        assign_participant(participant)  # creates the rater with their trials, in one transaction
    except IntegrityError:  # the same crowd session arrived twice at once: the first row wins
        existing = Participant.objects.filter(
            study=study, platform=identity["platform"], crowd_participant_id=crowd,
            crowd_session_id=identity["crowd_session_id"]).first() if crowd else None
        if existing is None:
            raise
        return existing
    return participant


def preview_participant(study: Study) -> Participant:
    """A staff preview rater: sees the study exactly as a rater would; never counted."""
    return start_participant(study, preview=True)


def resume(participant: Participant) -> None:
    """The rater page is open (POST on load and every few minutes): keep, give back, top up trials."""
    resume_participant(participant)
