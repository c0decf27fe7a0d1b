"""Staff-only plain views of the gan app: media files for the admin's pages, Table 1 downloads."""
from django.conf import settings
from django.http import HttpResponse, JsonResponse
from django.views.decorators.http import require_GET
from django.views.static import serve

from jobs.views import staff_required

from .models import Dataset
from .selectors.datasets import table1, table1_csv


@staff_required
def staff_media(request, path):
    """Media files (dataset pairs, checkpoints' samples, generated images) for the admin's pages.

    Staff only: raters never reach MEDIA_ROOT directly (studies serve stimuli by opaque ids).
    django.views.static.serve does the path-traversal checks and conditional GETs for us.
    """
    return serve(request, path, document_root=settings.MEDIA_ROOT)


@require_GET
@staff_required
def dataset_table1(request, dataset_id):
    """Table 1 of a dataset (pairs per class, kept / discarded, discard rate) as JSON, or CSV with
    ?format=csv. Staff only, like the admin pages that link here."""
    dataset = Dataset.objects.filter(pk=dataset_id).first()
    if dataset is None:
        return JsonResponse({"error": f"dataset #{dataset_id} does not exist"}, status=404)
    if request.GET.get("format") == "csv":
        response = HttpResponse(table1_csv(dataset), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{dataset.name}-table1.csv"'
        return response
    return JsonResponse({"dataset": dataset.name, "cleaning": dataset.info.get("cleaning"),
                         "split": dataset.info.get("split"), "rows": table1(dataset)})
