"""Serializers of the studies API."""
from rest_framework import serializers

from ..models import Choice, Study
from ..services.participants import rater_link


class AnswerSerializer(serializers.Serializer):
    """One answer from the rater page. `trial` is the opaque trial id the page was given."""

    trial = serializers.CharField(max_length=40)
    client_id = serializers.UUIDField(help_text="Made by the browser; a retry with the same id is a no-op.")
    rating = serializers.IntegerField(min_value=1, max_value=5, required=False, allow_null=True)
    choice = serializers.ChoiceField(choices=Choice.values, required=False)
    response_time_ms = serializers.IntegerField(min_value=0, max_value=86_400_000)
    play_count = serializers.IntegerField(min_value=1, max_value=10_000,
                                          error_messages={"min_value": "The sound must be played before answering."})
    played_to_end = serializers.BooleanField(required=False, default=False)
    answered_at = serializers.DateTimeField(required=False, allow_null=True)

    def validate(self, data):
        if data.get("rating") is not None and data.get("choice"):
            raise serializers.ValidationError("Send either a rating or a choice, not both.")
        if data.get("rating") is None and not data.get("choice"):
            raise serializers.ValidationError("Send a rating (1-5) or a choice (left, right, neither).")
        return data


class TrialSerializer(serializers.Serializer):
    id = serializers.CharField()
    practice = serializers.BooleanField()
    sound_url = serializers.CharField()
    sound_seconds = serializers.FloatField()
    image_url = serializers.CharField(required=False)
    left_image_url = serializers.CharField(required=False)
    right_image_url = serializers.CharField(required=False)


class ProgressSerializer(serializers.Serializer):
    answered = serializers.IntegerField()
    total = serializers.IntegerField()


class RaterStateSerializer(serializers.Serializer):
    kind = serializers.CharField()
    study_open = serializers.BooleanField()
    require_full_playback = serializers.BooleanField()
    progress = ProgressSerializer()
    done = serializers.BooleanField()
    trials = TrialSerializer(many=True)
    completion = serializers.DictField(required=False)


class AnswerResultSerializer(serializers.Serializer):
    saved = serializers.BooleanField()
    duplicate = serializers.BooleanField()
    progress = ProgressSerializer()
    done = serializers.BooleanField()


class ErrorSerializer(serializers.Serializer):
    error = serializers.CharField()
    code = serializers.CharField()
    fields = serializers.DictField(required=False)


class StudySerializer(serializers.ModelSerializer):
    rater_link = serializers.SerializerMethodField()
    conditions = serializers.SerializerMethodField()

    class Meta:
        model = Study
        fields = ["id", "name", "kind", "state", "title", "target_votes_per_item", "trials_per_participant",
                  "require_full_playback", "completion_code", "conditions", "rater_link", "created_at",
                  "opened_at", "closed_at"]
        read_only_fields = fields

    def get_rater_link(self, study) -> str:
        request = self.context.get("request")
        return request.build_absolute_uri(rater_link(study)) if request else rater_link(study)

    def get_conditions(self, study) -> list[dict]:
        return [{"label": c.label, "checkpoint": c.checkpoint_id} for c in study.conditions.all()]
