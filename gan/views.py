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


@require_GET
def dataset_table1(request, dataset_id):
    """Table 1 of a dataset (pairs per class, kept / discarded, discard rate) as JSON, or CSV with
    ?format=csv. Staff only, like the admin pages that link here."""
    from django.http import HttpResponse

    from .models import Dataset
    from .services.cleaning import table1, table1_csv

    user = request.user
    if not (user.is_authenticated and user.is_active and user.is_staff):
        return JsonResponse({"error": "staff login required"}, status=403)
    dataset = Dataset.objects.filter(pk=dataset_id).first()
    if dataset is None:
        return JsonResponse({"error": f"dataset #{dataset_id} does not exist"}, status=404)
    if request.GET.get("format") == "csv":
        response = HttpResponse(table1_csv(dataset), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{dataset.name}-table1.csv"'
        return response
    return JsonResponse({"dataset": dataset.name, "cleaning": dataset.info.get("cleaning"),
                         "split": dataset.info.get("split"), "rows": table1(dataset)})
