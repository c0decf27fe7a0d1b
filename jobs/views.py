"""Staff-only JSON of the job engine (the admin's progress bars poll it), and the staff check that
every staff-only plain Django view of the site uses."""
from functools import wraps

from django.http import JsonResponse
from django.views.decorators.http import require_GET

from .models import FINISHED_STATUSES, Job

MAX_IDS = 200


def staff_required(view):
    """403 with a JSON error unless an active staff member is logged in.

    Django's staff_member_required redirects to the login page; these endpoints are fetched by
    scripts and <img>/<audio> tags, for which a clear 403 is the useful answer.
    """
    @wraps(view)
    def checked(request, *args, **kwargs):
        user = request.user
        if not (user.is_authenticated and user.is_active and user.is_staff):
            return JsonResponse({"error": "staff login required"}, status=403)
        return view(request, *args, **kwargs)

    return checked


def progress_snapshot(job_ids) -> list[dict]:
    """What the admin's progress bars poll."""
    out = []
    for job in Job.objects.filter(pk__in=job_ids):
        duration = job.duration
        out.append(dict(
            id=job.pk, status=job.status, progress=round(job.progress, 4), step=job.step,
            total=job.total, message=job.message, attempts=job.attempts,
            duration_s=round(duration.total_seconds(), 1) if duration else None,
            finished=job.status in FINISHED_STATUSES,
        ))
    return out


@require_GET
@staff_required
def job_progress(request):
    raw = request.GET.get("ids", "")
    try:
        ids = [int(part) for part in raw.split(",") if part.strip()]
    except ValueError:
        return JsonResponse({"error": "ids must be a comma-separated list of job ids"}, status=400)
    if len(ids) > MAX_IDS:
        return JsonResponse({"error": f"at most {MAX_IDS} ids per request"}, status=400)
    return JsonResponse({"jobs": progress_snapshot(ids)})
