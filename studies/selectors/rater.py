"""What a rater is shown: their pending trials (opaque ids and URLs only), progress, completion."""
from __future__ import annotations

import time
from urllib.parse import urlencode, urlparse

from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from ..models import Assignment, AssignmentState, Participant, StudyKind, StudyState, Trial, TrialRole

PROLIFIC_COMPLETE_URL = "https://app.prolific.com/submissions/complete?cc={code}"
MTURK_SUBMIT_HOSTS = ("www.mturk.com", "workersandbox.mturk.com")
HELD_STATES = (AssignmentState.ACTIVE, AssignmentState.ANSWERED)  # expired/withdrawn are not in the plan


_recent_raters: dict[str, tuple[float, Participant]] = {}
_trial_facts: dict[str, dict[int, tuple[str, float]]] = {}  # study key -> trial -> (role, sound seconds)


def participant_for_token(token: str) -> Participant | None:
    """The rater a token names (one query, with their study), or None.

    A rater's page calls the API every few seconds; the rater and their study are kept in this
    process for STUDIES_RATER_CACHE_SECONDS (default 2), which saves a query on most calls. So a
    study closed by staff takes answers for up to that long; nothing else read here changes.
    """
    if not token or len(token) > 64:
        return None
    keep = getattr(settings, "STUDIES_RATER_CACHE_SECONDS", 0)
    now = time.monotonic()
    if keep:
        hit = _recent_raters.get(token)
        if hit and hit[0] > now:
            return hit[1]
    try:
        participant = Participant.objects.select_related("study").get(token=token)
    except Participant.DoesNotExist:
        return None
    if keep:
        if len(_recent_raters) > 20_000:  # bounded: forget everyone rather than grow
            _recent_raters.clear()
        _recent_raters[token] = (now + keep, participant)
    return participant


def trial_facts(study, trial_id: int) -> tuple[str, float]:
    """(role, sound seconds) of a trial, from a per-process map of the study's trials: trials do
    not change once built, so a rater's plan is read from the assignments table alone. Keyed by
    the study's random key, which no other study ever has (ids can come back after a rollback)."""
    facts = _trial_facts.get(study.public_key)
    if facts is None or trial_id not in facts:
        facts = {pk: (role, seconds) for pk, role, seconds in Trial.objects.filter(study=study).values_list(
            "pk", "role", "stimulus__sound_duration_s")}
        if len(_trial_facts) > 1000:
            _trial_facts.clear()
        _trial_facts[study.public_key] = facts
    return facts[trial_id]


def study_accepts_answers(participant: Participant) -> bool:
    state = participant.study.state
    return state == StudyState.OPEN or (participant.is_preview and state == StudyState.DRAFT)


def trial_payload(participant: Participant, trial: dict) -> dict:
    """What the rater page needs for one trial: opaque ids and URLs only."""
    key = trial["public_key"]
    role, seconds = trial_facts(participant.study, trial["trial_id"])
    # One reverse() and string joins: this runs for every pending trial of every state request.
    base = reverse("studies:media", args=[participant.token, key, "sound"])[: -len("sound")]
    payload = {"id": key, "practice": role == TrialRole.PRACTICE, "sound_url": base + "sound",
               "sound_seconds": round(seconds, 3)}
    if participant.study.kind == StudyKind.RATING:
        payload["image_url"] = base + "image"
    else:
        payload["left_image_url"], payload["right_image_url"] = base + "left", base + "right"
    return payload


def held_assignments(participant: Participant) -> list[dict]:
    """The rater's plan in order (one query, plain rows: no model instances to build)."""
    return list(Assignment.objects.filter(participant=participant, state__in=HELD_STATES).order_by("position")
                .values("public_key", "state", "trial_id"))


def rater_state(participant: Participant, *, limit: int | None = None) -> dict:
    """Progress and the rater's pending trials in order (for resume on any device). Reads only."""
    study = participant.study
    rows = held_assignments(participant)
    pending = [a for a in rows if a["state"] == AssignmentState.ACTIVE]
    answered = len(rows) - len(pending)
    done = participant.completed_at is not None or (not pending and answered > 0)
    open_now = study_accepts_answers(participant)
    shown = pending[:limit] if limit else pending
    state = {
        "kind": study.kind,
        "study_open": open_now,
        "require_full_playback": study.require_full_playback,
        "progress": {"answered": answered, "total": len(rows)},
        "done": done,
        "trials": [trial_payload(participant, a) for a in shown] if open_now else [],
        "server_time": timezone.now().isoformat(),
    }
    if done:
        state["completion"] = completion_info(participant)
    return state


def is_finished(participant: Participant) -> bool:
    if participant.completed_at is not None:
        return True
    states = set(Assignment.objects.filter(participant=participant, state__in=HELD_STATES)
                 .values_list("state", flat=True).distinct())
    return states == {AssignmentState.ANSWERED}


def mturk_submit_url(turk_submit_to) -> str:
    """Where the done page posts an MTurk worker's assignment: turkSubmitTo only when it is exactly
    https on one of MTurk's submit hosts (no port, no user, no other scheme: a
    `javascript://www.mturk.com/%0a...` link has MTurk's host too), rebuilt from the host alone so
    nothing else from the URL reaches the page; MTurk's production site otherwise."""
    host = MTURK_SUBMIT_HOSTS[0]
    try:
        parts = urlparse(turk_submit_to) if isinstance(turk_submit_to, str) else None
        if (parts and parts.scheme == "https" and parts.hostname in MTURK_SUBMIT_HOSTS and parts.port is None
                and not parts.username and not parts.password):
            host = parts.hostname
    except ValueError:  # a port that is not a number, a bracket left open: not an MTurk address
        pass
    return f"https://{host}/mturk/externalSubmit"


def safe_redirect_url(url: str) -> str:
    """A completion redirect only as an http(s) address: anything else (javascript:, data:) is
    dropped, and the rater keeps the code shown beside it. Staff write the template, but a link is
    a link: a typo or a pasted script must not run on the site's origin."""
    try:
        parts = urlparse(url)
    except ValueError:
        return ""
    return url if parts.scheme in ("https", "http") and parts.netloc else ""


def completion_info(participant: Participant) -> dict:
    """The completion code and, for crowd raters, where their platform expects them to go."""
    study = participant.study
    code = study.completion_code
    info = {"code": code, "redirect_url": "", "mturk_submit": None}
    if participant.is_preview:
        return info
    template = study.completion_redirect_url
    if participant.platform == "prolific":
        info["redirect_url"] = safe_redirect_url((template or PROLIFIC_COMPLETE_URL).replace("{code}", code))
    elif participant.platform == "mturk":
        info["mturk_submit"] = {
            "action": mturk_submit_url(participant.url_params.get("turkSubmitTo")),
            "fields": {"assignmentId": participant.crowd_session_id, "completion_code": code},
        }
    elif template:
        info["redirect_url"] = safe_redirect_url(template.replace("{code}", code))
    return info


def rater_link(study, base_url: str = "", **params) -> str:
    url = base_url.rstrip("/") + reverse("studies:entry", args=[study.public_key])
    return f"{url}?{urlencode(params)}" if params else url
