"""Data ingest in the staff API: each dataset's Table 1 (pairs per class, kept / discarded, discard
rate; JSON or CSV), how it was cleaned and split, and what the imports did with each source file."""
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from ..models import Dataset, ImportRecord, ImportStatus
from ..selectors.datasets import table1
from ..views import table1_csv_response


class DatasetIngestSerializer(serializers.ModelSerializer):
    table1 = serializers.SerializerMethodField()
    cleaning = serializers.SerializerMethodField()
    split = serializers.SerializerMethodField()

    class Meta:
        model = Dataset
        fields = ["id", "name", "source", "class_names", "image_size", "split_seed", "table1", "cleaning", "split"]

    def get_table1(self, dataset) -> list[dict]:
        return table1(dataset)

    def get_cleaning(self, dataset) -> dict | None:
        return dataset.info.get("cleaning")

    def get_split(self, dataset) -> dict | None:
        return dataset.info.get("split")


class ImportRecordSerializer(serializers.ModelSerializer):
    class Meta:
        model = ImportRecord
        fields = ["id", "source", "status", "code", "reason", "pairs", "info", "job", "updated_at"]


class DatasetIngestViewSet(viewsets.ReadOnlyModelViewSet):
    """Datasets with Table 1, their cleaning and split settings; /table1/?as=csv; /imports/?status=failed."""

    serializer_class = DatasetIngestSerializer
    queryset = Dataset.objects.all()
    extra_permissions = {"imports": ["gan.view_importrecord"]}  # gan.staff_access.StaffModelPermissions
    lookup_value_regex = r"\d+"

    @extend_schema(responses=OpenApiTypes.OBJECT, parameters=[OpenApiParameter("as", str, enum=["json", "csv"])])
    @action(detail=True)
    def table1(self, request, pk=None):
        dataset = self.get_object()
        if request.query_params.get("as") == "csv":
            return table1_csv_response(dataset)
        return Response({"dataset": dataset.name, "rows": table1(dataset)})

    @extend_schema(responses=ImportRecordSerializer(many=True),
                   parameters=[OpenApiParameter("status", str, enum=list(ImportStatus.values))])
    @action(detail=True)
    def imports(self, request, pk=None):
        records = self.get_object().import_records.order_by("source")
        status = request.query_params.get("status")
        if status:
            if status not in ImportStatus.values:
                from rest_framework.exceptions import ValidationError

                raise ValidationError({"status": f"must be one of {list(ImportStatus.values)}"})
            records = records.filter(status=status)
        return Response(ImportRecordSerializer(records, many=True).data)
