"""What a rater is shown: their pending trials (opaque ids and URLs only), progress, completion."""
from __future__ import annotations

import time
from functools import lru_cache
from urllib.parse import urlencode, urlparse

from django.conf import settings
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from .. import prepared
from ..models import Assignment, AssignmentState, Participant, Study, StudyState, Trial, TrialRole
from .model_rows import ModelRows

PROLIFIC_COMPLETE_URL = "https://app.prolific.com/submissions/complete?cc={code}"
MTURK_SUBMIT_HOSTS = ("www.mturk.com", "workersandbox.mturk.com")
# A rater's plan: every trial they were given except those withdrawn (an expired trial of theirs
# went back to the pool but is still theirs to answer: given back, or replaced, when they return).
PLAN_STATES = (AssignmentState.ACTIVE, AssignmentState.ANSWERED, AssignmentState.EXPIRED)


_recent_raters: dict[str, tuple[float, Participant]] = {}
_trial_facts: dict[str, dict[int, tuple[str, float]]] = {}  # study key -> trial -> (role, sound seconds)


_PARTICIPANT_ROWS, _STUDY_ROWS = ModelRows(Participant), ModelRows(Study)


# The lookups' SQL, built once per database kind (the column lists are long: building them on
# every call cost a tenth of a millisecond).
@lru_cache(maxsize=4)
def _participant_sql(vendor: str) -> str:
    quote = connection.ops.quote_name
    return (f"SELECT {_PARTICIPANT_ROWS.columns('p')}, {_STUDY_ROWS.columns('s')} "
            f"FROM {quote(Participant._meta.db_table)} p INNER JOIN {quote(Study._meta.db_table)} s "
            f"ON s.{quote(Study._meta.pk.column)} = p.{quote(Participant._meta.get_field('study').column)} "
            f"WHERE p.{quote(Participant._meta.get_field('token').column)} = %s")


@lru_cache(maxsize=4)
def _study_sql(vendor: str) -> str:
    quote = connection.ops.quote_name
    return (f"SELECT {_STUDY_ROWS.columns('s')} FROM {quote(Study._meta.db_table)} s "
            f"WHERE s.{quote(Study._meta.get_field('public_key').column)} = %s")


def _read_participant(token: str) -> Participant | None:
    """The rater and their study in one statement (the join select_related made), without the
    ORM's cost per query (studies/selectors/model_rows.py)."""
    with connection.cursor() as cursor:
        cursor.execute(_participant_sql(connection.vendor), [token])
        row = cursor.fetchone()
    if row is None:
        return None
    split = len(_PARTICIPANT_ROWS)
    participant = _PARTICIPANT_ROWS.build(row[:split])
    Participant.study.field.set_cached_value(participant, _STUDY_ROWS.build(row[split:]))
    return participant


def study_for_key(public_key: str) -> Study | None:
    """The study a link names (its public key), or None; one statement built into the instance as
    the ORM would (studies/selectors/model_rows.py): the study link's page and every join read it,
    and through the ORM the read cost more CPU than the rest of a join's reads together."""
    if not public_key or len(public_key) > 64:
        return None
    with connection.cursor() as cursor:
        cursor.execute(_study_sql(connection.vendor), [public_key])
        row = cursor.fetchone()
    return None if row is None else _STUDY_ROWS.build(row)


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
    participant = _read_participant(token)
    if participant is None:
        return None
    if keep:
        if len(_recent_raters) > 20_000:  # bounded: forget everyone rather than grow
            _recent_raters.clear()
        _recent_raters[token] = (now + keep, participant)
    return participant


def trial_facts(study, trial_id: int | None = None):
    """(role, sound seconds) of a trial, from a per-process map of the study's trials: trials do
    not change once built, so a rater's plan is read from the assignments table alone. Keyed by
    the study's random key, which no other study ever has (ids can come back after a rollback).
    Without a trial id: the whole map."""
    facts = _trial_facts.get(study.public_key)
    if facts is None or (trial_id is not None and trial_id not in facts):
        facts = {pk: (role, seconds) for pk, role, seconds in Trial.objects.filter(study=study).values_list(
            "pk", "role", "stimulus__sound_duration_s")}
        if len(_trial_facts) > 1000:
            _trial_facts.clear()
        _trial_facts[study.public_key] = facts
    return facts if trial_id is None else facts[trial_id]


def plan_size(participant: Participant) -> int:
    """How many trials complete this rater: the main trials planned when they joined (one withdrawn
    because it went to another rater while they were away is replaced, never dropped, so walking
    away cannot shorten the plan) and every practice and catch trial of the study (each rater gets
    all of them)."""
    extra = sum(1 for role, _ in trial_facts(participant.study).values() if role != TrialRole.MAIN)
    return participant.planned_main_trials + extra


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
    if not participant.study.shows_two_images:
        payload["image_url"] = base + "image"
    else:
        payload["left_image_url"], payload["right_image_url"] = base + "left", base + "right"
    return payload


_PLAN_SQL = ("SELECT public_key, state, trial_id FROM {table} WHERE participant_id = %(participant)s "
             "AND state IN ({states}) ORDER BY position")
_PLAN_TYPES = {"participant": "bigint", **{f"state{k}": "text" for k in range(len(PLAN_STATES))}}


def plan_rows(participant: Participant) -> list[dict]:
    """The rater's plan in order (one query, plain rows: no model instances to build). Raw SQL:
    it runs on every next/state call, and the ORM took longer to build it than the database to
    run it. Rows are mapped by the column names the statement selects."""
    sql = _PLAN_SQL.format(table=connection.ops.quote_name(Assignment._meta.db_table),
                           states=", ".join(f"%(state{k})s" for k in range(len(PLAN_STATES))))
    with connection.cursor() as cursor:
        prepared.execute(cursor, sql, {"participant": participant.pk,
                                       **{f"state{k}": state for k, state in enumerate(PLAN_STATES)}}, _PLAN_TYPES)
        names = [column[0] for column in cursor.description]
        return [dict(zip(names, row)) for row in cursor.fetchall()]


def rater_state(participant: Participant, *, limit: int | None = None) -> dict:
    """Progress and the rater's pending trials in order (for resume on any device). Reads only.

    Done only when every trial of the plan is answered (`plan_size`); trials that expired while the
    rater was away are not done, they come back (or are replaced) when the page calls in.
    `progress.unavailable` counts the trials of the plan the rater holds none of right now (the
    page says so when it has nothing to show)."""
    study = participant.study
    rows = plan_rows(participant)
    pending = [a for a in rows if a["state"] == AssignmentState.ACTIVE]
    answered = sum(1 for a in rows if a["state"] == AssignmentState.ANSWERED)
    total = max(plan_size(participant), answered + len(pending))
    done = participant.completed_at is not None or (answered >= total and len(rows) == answered)
    open_now = study_accepts_answers(participant)
    shown = pending[:limit] if limit else pending
    state = {
        "kind": study.kind,
        "study_open": open_now,
        "require_full_playback": study.require_full_playback,
        "progress": {"answered": answered, "total": total,
                     "unavailable": 0 if done else total - answered - len(pending)},
        "done": done,
        "trials": [trial_payload(participant, a) for a in shown] if open_now else [],
        "server_time": timezone.now().isoformat(),
    }
    if done:
        state["completion"] = completion_info(participant)
    return state


def is_finished(participant: Participant) -> bool:
    """Every trial of the rater's plan answered (the only way to the completion code)."""
    if participant.completed_at is not None:
        return True
    states = list(Assignment.objects.filter(participant=participant, state__in=PLAN_STATES)
                  .values_list("state", flat=True))
    return bool(states) and set(states) == {AssignmentState.ANSWERED} and len(states) >= plan_size(participant)


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
    """The completion code and, for crowd raters, where their platform expects them to go.

    `code` is the study-wide code, or the rater's own with the study's per_rater_codes (a shared
    code travels: a rater's own one shows staff who it was issued to). `rater_code` is the rater's
    own either way. Prolific's standard URL always carries the study-wide code, the one Prolific
    checks; a redirect template's '{code}' and MTurk's completion_code carry `code`."""
    study = participant.study
    own = participant.completion_code or ""
    code = own if study.per_rater_codes and own else study.completion_code
    info = {"code": code, "rater_code": own, "redirect_url": "", "mturk_submit": None}
    if participant.is_preview:
        return info
    template = study.completion_redirect_url
    if participant.platform == "prolific":
        info["redirect_url"] = safe_redirect_url(template.replace("{code}", code) if template
                                                 else PROLIFIC_COMPLETE_URL.replace("{code}", study.completion_code))
    elif participant.platform == "mturk":
        info["mturk_submit"] = {
            "action": mturk_submit_url(participant.url_params.get("turkSubmitTo")),
            "fields": {"assignmentId": participant.crowd_session_id, "completion_code": code, "rater_code": own},
        }
    elif template:
        info["redirect_url"] = safe_redirect_url(template.replace("{code}", code))
    return info


def rater_link(study, base_url: str = "", **params) -> str:
    url = base_url.rstrip("/") + reverse("studies:entry", args=[study.public_key])
    return f"{url}?{urlencode(params)}" if params else url
