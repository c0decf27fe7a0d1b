"""Evaluations (filterable by dataset, checkpoint, metric, classifier), suites, and the report of a
suite or a dataset as JSON (the same numbers as the admin results page and the CSV download)."""
from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from jobs.models import Job

from ..models import Dataset, Evaluation
from ..reports import dataset_report, suite_report
from ..reports.formats import to_csv, to_latex, to_markdown
from .serializers import EvaluationSerializer, SuiteSerializer

FILTERS = {"dataset": "dataset__name", "checkpoint": "checkpoint_id", "metric": "metric",
           "classifier": "classifier", "source": "source", "job": "job_id"}


def _text(body: str, content_type: str, filename: str) -> HttpResponse:
    response = HttpResponse(body, content_type=f"{content_type}; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


class EvaluationViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = EvaluationSerializer
    permission_model = Evaluation  # gan.staff_access.StaffModelPermissions
    lookup_value_regex = r"\d+"

    @extend_schema(parameters=[OpenApiParameter(name, str, description=f"filter on {field}")
                               for name, field in FILTERS.items()])
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    def get_queryset(self):
        queryset = Evaluation.objects.select_related("dataset", "checkpoint__run")
        for name, field in FILTERS.items():
            value = self.request.query_params.get(name)
            if value:
                if field.endswith("_id") and not value.isdigit():
                    from rest_framework.exceptions import ValidationError

                    raise ValidationError({name: "must be an integer id"})
                queryset = queryset.filter(**{field: value})
        return queryset


class SuiteViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = SuiteSerializer
    permission_model = Evaluation  # a suite's report is its evaluations
    queryset = Job.objects.filter(kind="suite")
    lookup_value_regex = r"\d+"

    @extend_schema(responses=OpenApiTypes.OBJECT,
                   parameters=[OpenApiParameter("as", str, enum=["json", "csv", "md", "tex"])])
    @action(detail=True)
    def report(self, request, pk=None):
        """Tables 1-4 of this suite: every number with its n, classifier, split convention, checkpoint."""
        report = suite_report(self.get_object())
        return _formatted(report, request.query_params.get("as", "json"), f"suite{pk}")


class DatasetReportViewSet(viewsets.ViewSet):
    permission_model = Evaluation  # a dataset's report is its evaluations
    lookup_value_regex = r"\d+"

    @extend_schema(responses=OpenApiTypes.OBJECT,
                   parameters=[OpenApiParameter("as", str, enum=["json", "csv", "md", "tex"])])
    def retrieve(self, request, pk=None):
        """Tables 1-4 from every scored checkpoint of a dataset (newest per variant and feature)."""
        dataset = get_object_or_404(Dataset, pk=pk)
        return _formatted(dataset_report(dataset), request.query_params.get("as", "json"), dataset.name)


def _formatted(report, fmt: str, name: str):
    if fmt == "csv":
        return _text(to_csv(report), "text/csv", f"results-{name}.csv")
    if fmt == "md":
        return _text(to_markdown(report), "text/markdown", f"results-{name}.md")
    if fmt == "tex":
        return _text(to_latex(report), "application/x-tex", f"results-{name}.tex")
    if fmt != "json":
        return Response({"error": f"as must be json, csv, md or tex, not {fmt!r}"}, status=400)
    return Response(report.as_dict())
