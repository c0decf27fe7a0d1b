"""Rater pages (server-rendered; studies/static/studies/rater.js drives the trials) and stimulus media.

Nothing here names a model, checkpoint or class: pages carry the study's rater-facing title and
instructions, trials and media are addressed by random keys, and media responses carry no file
name (no Content-Disposition, no Last-Modified, no ETag).
"""
from __future__ import annotations

import mimetypes
import os
import re
from functools import wraps

from csp.decorators import csp_replace
from django.conf import settings
from django.core.files.storage import default_storage
from django.http import Http404, HttpResponse, HttpResponseRedirect, JsonResponse, StreamingHttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods

from . import limits
from .entry_guard import check_entry, entry_nonce
from .errors import RateLimited, StudyError
from .models import Study, StudyState
from .selectors.rater import completion_info, is_finished, participant_for_token, study_for_key
from .selectors.trials import media_assignment, practice_count
from .services.participants import MTURK_PREVIEW_ASSIGNMENT, EntryProof, start_participant
from .services.responses import mark_sound_served

CHUNK = 64 * 1024
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")
RATER_COOKIE_SALT = "studies.rater"
RATER_COOKIE_DAYS = 30


def frameable(view):
    """Rater pages may be shown inside the crowd platforms' frames (MTurk's ExternalQuestion is an
    iframe on its worker site): the site-wide CSP's frame-ancestors 'none' is replaced by the sites
    of STUDIES_FRAME_ANCESTORS for these pages only, and X-Frame-Options: DENY is lifted (browsers
    that know CSP ignore X-Frame-Options when frame-ancestors is present; the others would refuse
    every frame). The rest of the policy (scripts from our static files only) stays."""
    @xframe_options_exempt
    @wraps(view)
    def wrapped(request, *args, **kwargs):
        # Read at each request (not at import), so a changed setting applies without a restart of tests.
        ancestors = ["'self'", *getattr(settings, "STUDIES_FRAME_ANCESTORS", [])]
        return csp_replace({"frame-ancestors": ancestors})(view)(request, *args, **kwargs)
    return wrapped


def rater_cookie_name(study: Study) -> str:
    return f"studies-rater-{study.public_key}"


@require_GET
def healthz(request):
    """A trivial JSON view: liveness checks, and the baseline of bench/studies_load.py."""
    return JsonResponse({"ok": True})


def _start(request, study: Study, crowd: dict):
    """Check that the POST came from the study's page, the join limits, create (or prove and
    resume) the rater; the redirect carries their cookie."""
    check_entry(request, study)
    limits.check(request, "join_ip")
    limits.check(request, "join_study", study.public_key)
    proof = EntryProof(cookie_token=request.get_signed_cookie(rater_cookie_name(study), default=None,
                                                              salt=RATER_COOKIE_SALT))
    participant = start_participant(study, url_params=crowd, user_agent=request.META.get("HTTP_USER_AGENT", ""),
                                    proof=proof, address=limits.client_address(request))
    response = HttpResponseRedirect(reverse("studies:rater", args=[participant.token]))
    response.set_signed_cookie(rater_cookie_name(study), participant.token, salt=RATER_COOKIE_SALT,
                               max_age=RATER_COOKIE_DAYS * 86400, httponly=True, samesite="Lax",
                               secure=settings.SESSION_COOKIE_SECURE,
                               path=reverse("studies:entry", args=[study.public_key]))
    return response


# No session or cookie is needed to enter (MTurk's iframe may send none, see frameable), so Django's
# CSRF check is off; studies.entry_guard (a signed per-render nonce, the Origin) takes its place.
@csrf_exempt
@frameable
@require_http_methods(["GET", "POST"])
def entry(request, study_key: str):
    """The study link: consent and instructions; 'Start' creates the rater and sends them to their URL."""
    study = study_for_key(study_key)
    if study is None or study.state == StudyState.DRAFT:
        raise Http404("No such study.")
    params = request.GET if request.method == "GET" else request.POST
    crowd = {k: v for k, v in params.items() if k not in ("csrfmiddlewaretoken", "consent", "entry_nonce")}
    mturk_preview = crowd.get("assignmentId") == MTURK_PREVIEW_ASSIGNMENT
    context = {"study": study, "crowd_params": crowd, "mturk_preview": mturk_preview, "error": None,
               "entry_nonce": entry_nonce(request, study),
               # a callable: the template counts only when it renders (a successful Start redirects)
               "practice_count": lambda: practice_count(study)}
    if request.method == "POST" and not mturk_preview and study.state == StudyState.OPEN:
        if request.POST.get("consent") != "yes":
            context["error"] = "Please tick the box to say you agree before starting."
        else:
            try:
                return _start(request, study, crowd)
            except StudyError as error:
                context["error"] = error.message
                response = render(request, "studies/entry.html", context, status=error.status)
                if isinstance(error, RateLimited):
                    response["Retry-After"] = str(error.retry_after)
                return response
    status = 200 if study.state == StudyState.OPEN else 410
    return render(request, "studies/entry.html", context, status=400 if context["error"] else status)


def _participant_or_404(token: str):
    participant = participant_for_token(token)
    if participant is None:
        raise Http404("Unknown rater link.")
    return participant


@frameable
@require_GET
def rater(request, token: str):
    participant = _participant_or_404(token)
    config = {
        "token": participant.token,
        "kind": participant.study.kind,
        "state_url": reverse("studies-api:rater-state", args=[participant.token]),
        "session_url": reverse("studies-api:rater-session", args=[participant.token]),
        "answer_url": reverse("studies-api:rater-answers", args=[participant.token]),
        "done_url": reverse("studies:done", args=[participant.token]),
        "require_full_playback": participant.study.require_full_playback,
    }
    return render(request, "studies/rater.html", {
        "study": participant.study, "participant": participant, "config": config, "preview": participant.is_preview,
        "resume_url": request.build_absolute_uri(reverse("studies:rater", args=[participant.token]))})


@frameable
@require_GET
def done(request, token: str):
    participant = _participant_or_404(token)
    finished = is_finished(participant)
    context = {"study": participant.study, "finished": finished,
               "completion": completion_info(participant) if finished else None,
               "rater_url": reverse("studies:rater", args=[participant.token])}
    return render(request, "studies/done.html", context)


def _parse_range(header: str, size: int) -> tuple[int, int] | None | str:
    """(first, last) inclusive for one byte range; None: serve it whole; 'unsatisfiable' for a 416."""
    match = _RANGE.match(header.strip())
    if not match:
        return None  # multiple or malformed ranges: RFC 9110 lets a server ignore Range and send 200
    first, last = match.groups()
    if first == "" and last == "":
        return None
    if first == "":  # suffix range: the last N bytes
        length = int(last)
        if length == 0:
            return "unsatisfiable"
        return max(size - length, 0), size - 1
    start = int(first)
    end = min(int(last), size - 1) if last else size - 1
    if start >= size or end < start:
        return "unsatisfiable"
    return start, end


def _file_chunks(path: str, start: int, length: int):
    with open(path, "rb") as handle:
        handle.seek(start)
        remaining = length
        while remaining > 0:
            block = handle.read(min(CHUNK, remaining))
            if not block:
                break
            remaining -= len(block)
            yield block


def ranged_file_response(request, path: str, content_type: str):
    """A file response that honours a single HTTP Range.

    Hand-written because Django's FileResponse ignores Range (and whitenoise serves only static
    files), while Safari refuses to play audio from a server that does not answer byte ranges and
    every browser needs them to seek. One range is all media elements ask for.
    """
    size = os.path.getsize(path)
    common = {"Accept-Ranges": "bytes", "Cache-Control": "private, max-age=3600",
              "X-Content-Type-Options": "nosniff"}
    wanted = _parse_range(request.headers.get("Range", ""), size) if request.headers.get("Range") else None
    if wanted == "unsatisfiable":
        response = HttpResponse(status=416)
        response["Content-Range"] = f"bytes */{size}"
    elif wanted is None:
        response = StreamingHttpResponse(_file_chunks(path, 0, size), content_type=content_type)
        response["Content-Length"] = str(size)
    else:
        first, last = wanted
        response = StreamingHttpResponse(_file_chunks(path, first, last - first + 1), status=206,
                                         content_type=content_type)
        response["Content-Length"] = str(last - first + 1)
        response["Content-Range"] = f"bytes {first}-{last}/{size}"
    for key, value in common.items():
        response[key] = value
    return response


@require_GET
def media(request, token: str, trial_key: str, slot: str):
    """A trial's sound or image, for the rater it was assigned to only."""
    try:
        limits.check(request, "media_token", token)
        participant = participant_for_token(token)
        if participant is None:
            limits.check(request, "bad_token_ip")  # guessing tokens, as on the API
            raise Http404("Unknown rater link.")
    except RateLimited as error:
        return HttpResponse(error.message, status=error.status, content_type="text/plain; charset=utf-8",
                            headers={"Retry-After": str(error.retry_after)})
    assignment = media_assignment(participant, trial_key)
    if assignment is None:
        raise Http404("No such trial among yours.")
    stimulus = assignment.trial.stimulus
    if slot == "sound":
        relative = stimulus.sound
        mark_sound_served(assignment)
    elif slot == "image" and not stimulus.other_image:
        relative = stimulus.image
    elif slot in ("left", "right") and stimulus.other_image:
        relative = stimulus.image if slot == assignment.positive_side else stimulus.other_image
    else:
        raise Http404("No such media for this trial.")
    path = default_storage.path(relative)
    if not os.path.isfile(path):
        raise Http404("This media file is missing on the server.")
    content_type = mimetypes.guess_type(path)[0] or "application/octet-stream"
    return ranged_file_response(request, path, content_type)
