"""Staff-only plain views of the gan app: media files for the admin's pages, Table 1 downloads."""
import filetype
from django.conf import settings
from django.http import HttpResponse, JsonResponse
from django.views.decorators.http import require_GET
from django.views.static import serve

from .models import Dataset
from .selectors.datasets import table1, table1_csv
from .staff_access import staff_permission_required


# The files under MEDIA_ROOT belong to these models; a staff account needs to see one of them.
MEDIA_VIEW_PERMS = ("gan.view_pair", "gan.view_generatedimage", "gan.view_trainingrun", "gan.view_trysound",
                    "studies.view_stimulus")
INLINE_TYPES = ("image/", "audio/")


@require_GET
@staff_permission_required(*MEDIA_VIEW_PERMS, any_of=True)
def staff_media(request, path):
    """Media files (dataset pairs, checkpoints' samples, generated images) for the admin's pages.

    Staff only: raters never reach MEDIA_ROOT directly (studies serve stimuli by opaque ids).
    django.views.static.serve does the path-traversal checks and conditional GETs for us. The type
    is sniffed from the file's bytes (filetype), never taken from its extension, and only pictures
    and sounds are shown inline: anything else (HTML, SVG, text, a checkpoint) is a download, so a
    stored file cannot become a page on the site's origin that runs in a staff member's session.
    """
    response = serve(request, path, document_root=settings.MEDIA_ROOT)
    if response.status_code == 200:
        stream = response.file_to_stream  # the open file serve() streams: read its head, rewind
        sniffed = filetype.guess_mime(stream.read(8192))
        stream.seek(0)
        response["Content-Type"] = sniffed or "application/octet-stream"
        response["X-Content-Type-Options"] = "nosniff"
        inline = bool(sniffed and sniffed.startswith(INLINE_TYPES))
        response["Content-Disposition"] = "inline" if inline else "attachment"  # no stored name either way
    return response


def table1_csv_response(dataset: Dataset) -> HttpResponse:
    """Table 1 of a dataset as a CSV download (this view and the staff API's)."""
    response = HttpResponse(table1_csv(dataset), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{dataset.name}-table1.csv"'
    return response


@require_GET
@staff_permission_required("gan.view_dataset", "gan.view_pair")
def dataset_table1(request, dataset_id):
    """Table 1 of a dataset (pairs per class, kept / discarded, discard rate) as JSON, or CSV with
    ?as=csv, the query parameter of every CSV the platform serves (the API's: DRF keeps ?format= for
    its own renderers). ?format=csv stays an alias: the admin linked this page with it, and a staff
    member may have bookmarked that link. Staff only, like the admin pages that link here."""
    dataset = Dataset.objects.filter(pk=dataset_id).first()
    if dataset is None:
        return JsonResponse({"error": f"dataset #{dataset_id} does not exist"}, status=404)
    if request.GET.get("as") == "csv" or request.GET.get("format") == "csv":
        return table1_csv_response(dataset)
    return JsonResponse({"dataset": dataset.name, "cleaning": dataset.info.get("cleaning"),
                         "split": dataset.info.get("split"), "rows": table1(dataset)})
