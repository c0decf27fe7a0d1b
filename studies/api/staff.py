"""Staff endpoints (session login, is_staff): studies, open/close, results and CSV exports."""
from __future__ import annotations

import json

from django.http import StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import viewsets
from rest_framework.decorators import action
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.response import Response

from ..errors import BuildError
from ..export import stream_csv, table_to_csv_rows
from ..models import Study
from ..services.building import close_study, open_study
from ..selectors.export import export_csv
from ..selectors.results_cache import cached_results
from .serializers import StudySerializer


class CSVRenderer(BaseRenderer):
    """Lets `Accept: text/csv` through content negotiation; the CSV itself is a streaming response."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        return json.dumps(data).encode() if not isinstance(data, (bytes, str)) else data


def csv_download(chunks, filename: str) -> StreamingHttpResponse:
    """A streamed CSV download of encoded chunks, UTF-8 and saying so (the default labels' '·' must
    not decode as Latin-1)."""
    response = StreamingHttpResponse(chunks, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def csv_response(header, rows, filename: str, *, excel: bool = False) -> StreamingHttpResponse:
    """csv_download of (header, rows). excel=True starts it with a byte-order mark: Excel reads
    UTF-8 only with one."""
    return csv_download(stream_csv(header, rows, lines_per_chunk=500, bom=excel), filename)


def wants_excel(request) -> bool:
    """?excel=1: the file for Excel (a byte-order mark first)."""
    return request.GET.get("excel") == "1"


class StudyViewSet(viewsets.ReadOnlyModelViewSet):
    """Studies (default permissions: IsAdminUser and the study's model permissions, view to read and
    change to open or close; session authentication)."""

    queryset = Study.objects.prefetch_related("conditions")
    serializer_class = StudySerializer
    lookup_value_regex = r"\d+"
    # gan.staff_access.StaffModelPermissions: the results are the responses; the export also
    # names every rater (crowd ids)
    extra_permissions = {"results": ["studies.view_response"], "table_csv": ["studies.view_response"],
                         "responses_csv": ["studies.view_response", "studies.view_participant"]}

    @extend_schema(request=None, responses=StudySerializer)
    @action(detail=True, methods=["post"])
    def open(self, request, pk=None):
        try:
            study = open_study(self.get_object())
        except BuildError as error:
            return Response({"error": str(error), "code": "cannot_open"}, status=409)
        return Response(self.get_serializer(study).data)

    @extend_schema(request=None, responses=StudySerializer)
    @action(detail=True, methods=["post"])
    def close(self, request, pk=None):
        return Response(self.get_serializer(close_study(self.get_object())).data)

    @extend_schema(responses=OpenApiTypes.OBJECT)
    @action(detail=True, methods=["get"])
    def results(self, request, pk=None):
        """Progress, screening (raters and votes before/after) and Table 5 or Table 6, from the results
        cache: `freshness` says when they were computed, whether answers arrived since and whether a
        background recompute (a large study's) is under way."""
        return Response(cached_results(self.get_object()))

    @extend_schema(responses={(200, "text/csv"): OpenApiTypes.STR})
    @action(detail=True, methods=["get"], url_path="responses.csv", renderer_classes=[CSVRenderer, JSONRenderer])
    def responses_csv(self, request, pk=None):
        """Every response in long format, streamed (constant memory). ?excel=1: with a UTF-8 byte-order mark."""
        study = self.get_object()
        include_preview = request.query_params.get("preview") == "1"
        return csv_download(export_csv(study, include_preview=include_preview, bom=wants_excel(request)),
                            f"study-{study.pk}-responses.csv")

    @extend_schema(responses={(200, "text/csv"): OpenApiTypes.STR})
    @action(detail=True, methods=["get"], url_path="table.csv", renderer_classes=[CSVRenderer, JSONRenderer])
    def table_csv(self, request, pk=None):
        """The study's table (Table 5 or 6) in long format, with the screening report."""
        study = self.get_object()
        results = cached_results(study, max_age=0)
        if results["table"] is None:
            return Response({"error": results["table_note"], "code": "no_results"}, status=409)
        header, rows = table_to_csv_rows(results["table"])
        return csv_response(header, rows, f"study-{study.pk}-table.csv", excel=wants_excel(request))
