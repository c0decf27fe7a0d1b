from rest_framework import serializers

from jobs.models import Job

from ..models import Evaluation


class EvaluationSerializer(serializers.ModelSerializer):
    dataset = serializers.SlugRelatedField(slug_field="name", read_only=True)
    variant = serializers.SerializerMethodField()
    feature = serializers.SerializerMethodField()

    class Meta:
        model = Evaluation
        fields = ["id", "dataset", "source", "checkpoint", "variant", "feature", "split", "volume", "seed",
                  "metric", "classifier", "order", "order_seed", "splits", "n_images", "value", "std",
                  "per_split", "per_class", "details", "job", "created_at"]

    def get_variant(self, obj) -> str:
        return obj.checkpoint.run.variant if obj.checkpoint_id else ""

    def get_feature(self, obj) -> str:
        return obj.checkpoint.run.feature_spec.get("kind", "") if obj.checkpoint_id else ""


class SuiteSerializer(serializers.ModelSerializer):
    dataset_id = serializers.SerializerMethodField()
    preset = serializers.SerializerMethodField()

    class Meta:
        model = Job
        fields = ["id", "status", "progress", "step", "total", "message", "dataset_id", "preset", "params",
                  "created_at", "started_at", "finished_at"]

    def get_dataset_id(self, obj) -> int | None:
        return obj.params.get("dataset_id")

    def get_preset(self, obj) -> str:
        return obj.params.get("preset", "quick")
