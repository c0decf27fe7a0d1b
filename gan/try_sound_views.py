"""Try it (staff only): upload or record a sound, see the images chosen checkpoints make from it, move
the volume (the paper's Table 3, live) and the seed.

  GET  /gan/try/                the page (gan/templates/gan/try_sound.html, gan/static/gan/try_sound.js)
  POST /gan/try/sounds/         a sound as the multipart field 'sound' -> 201 {sound} (200: stored before)
  GET  /gan/try/images/         ?sound=&checkpoint=&volume=&seed= -> the images made so far
  POST /gan/try/images/         the same fields -> 200 when every image exists, else 202 and the job
                                that makes the missing ones (its progress: /jobs/progress/?ids=)

Every refusal is one JSON {"error": "..."} with a 4xx and stores nothing. The web tier never loads
torch: the upload is checked with libsndfile/PyAV, the images are made by a `try_sound` job.
"""
from __future__ import annotations

from django.contrib import admin
from django.contrib.admin.views.decorators import staff_member_required
from django.core.exceptions import PermissionDenied
from django.core.files.uploadhandler import FileUploadHandler, StopUpload
from django.http import JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from .admin.media import media_url
from .selectors.try_sound import offered_checkpoints
from .services.sound_upload import (MAX_SECONDS, MAX_UPLOAD_BYTES, SoundRefused, check_sound_file,
                                    store_sound, too_big, upload_on_disk)
from .services.try_sound import (MAX_CHECKPOINTS, MAX_ID, MAX_SEED, MAX_VOLUME, TryRequestError, canonical_seed,
                                 canonical_volume, checkpoint_ids, checkpoint_label, existing_checkpoints,
                                 existing_sound, images_state, request_images)
from .staff_access import staff_permission_required

# Room for the multipart boundaries and headers around a file of MAX_UPLOAD_BYTES.
MULTIPART_OVERHEAD = 64 * 1024
CHECKPOINTS_LISTED = 100


def _error(message: str, status: int = 400) -> JsonResponse:
    return JsonResponse({"error": message}, status=status)


@require_GET
@staff_member_required  # a page a person opens: not logged in -> the admin's login, then back here
def try_page(request):
    if not request.user.has_perm("gan.add_trysound"):  # the page's whole use is uploading sounds
        raise PermissionDenied
    chosen = []
    for part in request.GET.getlist("checkpoint"):
        chosen += [int(x) for x in part.split(",") if x.strip().isdigit() and int(x) <= MAX_ID]
    checkpoints = offered_checkpoints(chosen, listed=CHECKPOINTS_LISTED)
    if not chosen and checkpoints:  # nothing asked: the newest result
        chosen = [checkpoints[0].pk]
    options = [{"id": c.pk, "label": checkpoint_label(c), "checked": c.pk in chosen} for c in checkpoints]
    context = {
        **admin.site.each_context(request), "title": "Try it: images from a sound",
        "checkpoints": options, "max_checkpoints": MAX_CHECKPOINTS, "max_seconds": f"{MAX_SECONDS:g}",
        "max_megabytes": MAX_UPLOAD_BYTES // (1024 * 1024), "max_volume": f"{MAX_VOLUME:g}", "max_seed": MAX_SEED,
        "upload_url": reverse("gan:try-sounds"), "images_url": reverse("gan:try-images"),
        "progress_url": reverse("jobs:job-progress"),
    }
    return render(request, "gan/try_sound.html", context)


class CappedUploadHandler(FileUploadHandler):
    """Stops reading the request body once it passes `limit` bytes of file data (a client may send no
    Content-Length, or a wrong one): the rest is never read, nothing is kept."""

    def __init__(self, limit: int, request=None):
        super().__init__(request)
        self.limit = limit
        self.received = 0
        self.exceeded = False

    def receive_data_chunk(self, raw_data, start):
        self.received += len(raw_data)
        if self.received > self.limit:
            self.exceeded = True
            raise StopUpload(connection_reset=True)
        return raw_data  # the next handler (Django's memory or temporary-file handler) stores it

    def file_complete(self, file_size):
        return None


@csrf_exempt  # the upload handler must be in place before anything reads the body; CSRF is checked below
@require_POST
@staff_permission_required("gan.add_trysound")
def upload_sound(request):
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return _error("the request's Content-Length is not a number")
    if length > MAX_UPLOAD_BYTES + MULTIPART_OVERHEAD:  # refused before a byte of the body is read
        return _error(str(too_big(length, "the upload")), status=413)
    cap = CappedUploadHandler(MAX_UPLOAD_BYTES, request)
    request.upload_handlers.insert(0, cap)
    return _store_upload(request, cap)


@csrf_protect
def _store_upload(request, cap: CappedUploadHandler):
    uploaded = request.FILES.get("sound")
    if cap.exceeded:
        return _error(str(too_big(None, "the upload")), status=413)
    if uploaded is None:
        return _error("no sound: send the file as the multipart form field 'sound'")
    if uploaded.size > MAX_UPLOAD_BYTES:
        return _error(str(too_big(uploaded.size)), status=413)
    try:
        with upload_on_disk(uploaded) as path:
            checked = check_sound_file(path)
            sound, created = store_sound(path, checked, original_name=uploaded.name, user=request.user)
    except SoundRefused as exc:
        return _error(str(exc), status=exc.status)
    return JsonResponse({"sound": {
        "id": sound.pk, "name": sound.original_name, "duration_s": sound.duration_s,
        "sample_rate": sound.sample_rate, "format": sound.audio_format, "url": media_url(sound.file.name),
    }}, status=201 if created else 200)


@require_http_methods(["GET", "POST"])
@staff_permission_required("gan.view_trysound", "gan.view_generatedimage")
def try_images(request):
    """GET reads what exists; POST also launches a job for what is missing (CSRF checked by the
    middleware, as for any POST)."""
    data = request.POST if request.method == "POST" else request.GET
    try:
        sound = existing_sound(data.get("sound"))
        checkpoints = existing_checkpoints(checkpoint_ids(data.getlist("checkpoint")))
        volume = canonical_volume(data.get("volume", "1"))
        seed = canonical_seed(data.get("seed", "0"))
    except TryRequestError as exc:
        return _error(str(exc))
    if request.method == "POST":
        state, job = request_images(sound, checkpoints, volume, seed, user=request.user)
    else:
        state, job = images_state(sound, checkpoints, volume, seed), None
    for entry in state:
        image = entry.pop("image")
        entry["url"] = media_url(image) if image else None
    body = {"sound": sound.pk, "volume": volume, "seed": seed, "images": state,
            "job": {"id": job.pk, "status": job.status} if job else None}
    return JsonResponse(body, status=202 if job else 200)
