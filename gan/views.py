"""Staff-only JSON endpoints of the gan app (the admin's progress bars poll these)."""
from django.http import JsonResponse
from django.views.decorators.http import require_GET

from .jobs import progress_snapshot

MAX_IDS = 200


@require_GET
def job_progress(request):
    user = request.user
    if not (user.is_authenticated and user.is_active and user.is_staff):
        return JsonResponse({"error": "staff login required"}, status=403)
    raw = request.GET.get("ids", "")
    try:
        ids = [int(part) for part in raw.split(",") if part.strip()]
    except ValueError:
        return JsonResponse({"error": "ids must be a comma-separated list of job ids"}, status=400)
    if len(ids) > MAX_IDS:
        return JsonResponse({"error": f"at most {MAX_IDS} ids per request"}, status=400)
    return JsonResponse({"jobs": progress_snapshot(ids)})


def staff_media(request, path):
    """Media files (dataset pairs, checkpoints' samples, generated images) for the admin's pages.

    Staff only: raters never reach MEDIA_ROOT directly (studies serve stimuli by opaque ids).
    django.views.static.serve does the path-traversal checks and conditional GETs for us.
    """
    from django.conf import settings
    from django.views.static import serve

    user = request.user
    if not (user.is_authenticated and user.is_active and user.is_staff):
        return JsonResponse({"error": "staff login required"}, status=403)
    return serve(request, path, document_root=settings.MEDIA_ROOT)
