"""Raters arriving, resuming and finishing, and what they are shown (never a model or a class)."""
from __future__ import annotations

from urllib.parse import urlencode, urlparse

from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from ..assignment import assign_participant, extend_expiry, needs_refresh, refresh_participant
from ..errors import StudyFull, StudyNotOpen
from ..models import Assignment, AssignmentState, Participant, Study, StudyKind, StudyState, TrialRole

MAX_URL_PARAMS = 30
MAX_PARAM_LENGTH = 300
PROLIFIC_COMPLETE_URL = "https://app.prolific.com/submissions/complete?cc={code}"
MTURK_SUBMIT_HOSTS = ("www.mturk.com", "workersandbox.mturk.com")
MTURK_PREVIEW_ASSIGNMENT = "ASSIGNMENT_ID_NOT_AVAILABLE"


def clean_url_params(params) -> dict[str, str]:
    """The link's query parameters, bounded in number and size (they are stored as given)."""
    cleaned = {}
    for key in list(params)[:MAX_URL_PARAMS]:
        value = params.get(key) if hasattr(params, "get") else params[key]
        cleaned[str(key)[:100]] = str(value)[:MAX_PARAM_LENGTH]
    return cleaned


def crowd_identity(params: dict[str, str]) -> dict[str, str]:
    """Prolific appends PROLIFIC_PID, STUDY_ID, SESSION_ID; MTurk passes workerId, assignmentId, hitId."""
    if params.get("PROLIFIC_PID"):
        return {"platform": "prolific", "crowd_participant_id": params["PROLIFIC_PID"],
                "crowd_study_id": params.get("STUDY_ID", ""), "crowd_session_id": params.get("SESSION_ID", "")}
    if params.get("workerId"):
        return {"platform": "mturk", "crowd_participant_id": params["workerId"],
                "crowd_study_id": params.get("hitId", ""), "crowd_session_id": params.get("assignmentId", "")}
    return {"platform": "", "crowd_participant_id": "", "crowd_study_id": "", "crowd_session_id": ""}


def start_participant(study: Study, *, url_params=None, user_agent: str = "", preview: bool = False) -> Participant:
    """A new rater (or the same crowd worker coming back) with their trials assigned.

    Raises StudyNotOpen for a study that is not open (previews may run on drafts), StudyFull when no
    trial has room left.
    """
    params = clean_url_params(url_params or {})
    if preview:
        allowed = study.state in (StudyState.DRAFT, StudyState.OPEN)
    else:
        allowed = study.state == StudyState.OPEN
    if not allowed:
        raise StudyNotOpen("This study is not open for answers.")
    identity = crowd_identity(params) if not preview else crowd_identity({})
    if identity["crowd_participant_id"]:
        existing = Participant.objects.filter(study=study, platform=identity["platform"],
                                              crowd_participant_id=identity["crowd_participant_id"]).first()
        if existing:
            return existing
    try:
        with transaction.atomic():
            participant = Participant.objects.create(study=study, is_preview=preview, url_params=params,
                                                     user_agent=user_agent[:400], **identity)
            assign_participant(participant)
    except IntegrityError:  # the same crowd worker arrived twice at once: the first row wins
        existing = Participant.objects.filter(study=study, platform=identity["platform"],
                                              crowd_participant_id=identity["crowd_participant_id"]).first()
        if existing is None:
            raise
        return existing
    return participant


def participant_for_token(token: str) -> Participant | None:
    if not token or len(token) > 64:
        return None
    return Participant.objects.select_related("study").filter(token=token).first()


def media_url(participant: Participant, assignment: Assignment, slot: str) -> str:
    return reverse("studies:media", args=[participant.token, assignment.public_key, slot])


def trial_payload(participant: Participant, assignment: Assignment) -> dict:
    """What the rater page needs for one trial: opaque ids and URLs only."""
    payload = {
        "id": assignment.public_key,
        "practice": assignment.trial.role == TrialRole.PRACTICE,
        "sound_url": media_url(participant, assignment, "sound"),
        "sound_seconds": round(assignment.trial.stimulus.sound_duration_s, 3),
    }
    if participant.study.kind == StudyKind.RATING:
        payload["image_url"] = media_url(participant, assignment, "image")
    else:
        payload["left_image_url"] = media_url(participant, assignment, "left")
        payload["right_image_url"] = media_url(participant, assignment, "right")
    return payload


def _touch(participant: Participant, now) -> None:
    if needs_refresh(participant, now):
        refresh_participant(participant, now=now)
    else:
        extend_expiry(participant, now)


def rater_state(participant: Participant, *, limit: int | None = None) -> dict:
    """Progress and the rater's pending trials in order (for resume on any device)."""
    now = timezone.now()
    study = participant.study
    if study.state == StudyState.OPEN or participant.is_preview:
        _touch(participant, now)
    rows = list(participant.assignments.exclude(state=AssignmentState.EXPIRED)
                .select_related("trial__stimulus").order_by("position"))
    pending = [a for a in rows if a.state == AssignmentState.ACTIVE]
    answered = len(rows) - len(pending)
    done = participant.completed_at is not None or (not pending and answered > 0)
    open_now = study.state == StudyState.OPEN or (participant.is_preview and study.state == StudyState.DRAFT)
    state = {
        "kind": study.kind,
        "study_open": open_now,
        "require_full_playback": study.require_full_playback,
        "progress": {"answered": answered, "total": len(rows)},
        "done": done,
        "trials": [trial_payload(participant, a) for a in (pending[:limit] if limit else pending)] if open_now else [],
    }
    if done:
        state["completion"] = completion_info(participant)
    return state


def completion_info(participant: Participant) -> dict:
    """The completion code and, for crowd raters, where their platform expects them to go."""
    study = participant.study
    code = study.completion_code
    info = {"code": code, "redirect_url": "", "mturk_submit": None}
    if participant.is_preview:
        return info
    template = study.completion_redirect_url
    if participant.platform == "prolific":
        info["redirect_url"] = (template or PROLIFIC_COMPLETE_URL).replace("{code}", code)
    elif participant.platform == "mturk":
        submit_to = participant.url_params.get("turkSubmitTo", "https://www.mturk.com")
        host = urlparse(submit_to).hostname or ""
        if host not in MTURK_SUBMIT_HOSTS:  # never post a worker's answers to a host from the URL
            submit_to = "https://www.mturk.com"
        info["mturk_submit"] = {
            "action": submit_to.rstrip("/") + "/mturk/externalSubmit",
            "fields": {"assignmentId": participant.crowd_session_id, "completion_code": code},
        }
    elif template:
        info["redirect_url"] = template.replace("{code}", code)
    return info


def preview_participant(study: Study) -> Participant:
    """A staff preview rater: sees the study exactly as a rater would; never counted."""
    return start_participant(study, preview=True)


def rater_link(study: Study, base_url: str = "", **params) -> str:
    url = base_url.rstrip("/") + reverse("studies:entry", args=[study.public_key])
    return f"{url}?{urlencode(params)}" if params else url
