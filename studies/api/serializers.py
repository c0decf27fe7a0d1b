"""Serializers of the studies API."""
from rest_framework import serializers

from ..models import Choice, Study
from ..selectors.rater import rater_link


class StrictIntegerField(serializers.IntegerField):
    """A JSON integer only: DRF's IntegerField also takes "3", 3.0 and "3.0", which a page of ours never
    sends, so they are refused rather than stored as if they were meant."""

    default_error_messages = {"invalid": "A whole number is required (a JSON integer, not a string or 3.0)."}

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictBooleanField(serializers.BooleanField):
    default_error_messages = {"invalid": "true or false is required."}

    def to_internal_value(self, data):
        if not isinstance(data, bool):
            self.fail("invalid")
        return data


class StrictStringMixin:
    """Only a JSON string: a number would be turned into one (an integer client id collides across raters)."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("not_a_string")
        return super().to_internal_value(data)


class StrictCharField(StrictStringMixin, serializers.CharField):
    default_error_messages = {"not_a_string": "A string is required."}


class StrictUUIDField(StrictStringMixin, serializers.UUIDField):
    default_error_messages = {"not_a_string": "A UUID string is required."}


class StrictChoiceField(StrictStringMixin, serializers.ChoiceField):
    default_error_messages = {"not_a_string": "A string is required."}


class StrictDateTimeField(StrictStringMixin, serializers.DateTimeField):
    default_error_messages = {"not_a_string": "An ISO 8601 date-time string is required."}


class AnswerSerializer(serializers.Serializer):
    """One answer from the rater page. `trial` is the opaque trial id the page was given.

    Strict: JSON types as the page sends them, and unknown fields are refused (a typo such as
    "ratting" would otherwise store an answer without what was meant).
    """

    trial = StrictCharField(max_length=40)
    client_id = StrictUUIDField(help_text="Made by the browser; a retry with the same id is a no-op.")
    rating = StrictIntegerField(min_value=1, max_value=5, required=False, allow_null=True)
    choice = StrictChoiceField(choices=Choice.values, required=False)
    response_time_ms = StrictIntegerField(min_value=0, max_value=86_400_000)
    play_count = StrictIntegerField(min_value=1, max_value=10_000,
                                    error_messages={"min_value": "The sound must be played before answering."})
    played_to_end = StrictBooleanField(required=False, default=False)
    answered_at = StrictDateTimeField(required=False, allow_null=True,
                                      help_text="When the rater answered (server clock; not in the future).")
    sound_started_at = StrictDateTimeField(
        required=False, allow_null=True, help_text="When this trial's sound last started playing (server clock).")
    sound_ended_at = StrictDateTimeField(
        required=False, allow_null=True, help_text="When that playback ended; absent if it did not play to its end. "
                                                   "With full playback required, the server checks the two against "
                                                   "the sound's length and the rater's other playbacks.")

    def validate(self, data):
        unknown = sorted(set(self.initial_data) - set(self.fields))
        if unknown:
            raise serializers.ValidationError({name: "Unknown field." for name in unknown[:10]})
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
    total = serializers.IntegerField(help_text="Every trial of the rater's plan: done only when all are answered.")
    unavailable = serializers.IntegerField(required=False,
                                           help_text="Trials of the plan the rater holds none of right now.")


class RaterStateSerializer(serializers.Serializer):
    kind = serializers.CharField()
    study_open = serializers.BooleanField()
    require_full_playback = serializers.BooleanField()
    progress = ProgressSerializer()
    done = serializers.BooleanField()
    trials = TrialSerializer(many=True)
    completion = serializers.DictField(required=False)
    server_time = serializers.DateTimeField(help_text="The page dates answers by this clock.")


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
                  "require_full_playback", "completion_code", "per_rater_codes", "count_incomplete_raters",
                  "conditions", "rater_link", "created_at",
                  "opened_at", "closed_at"]
        read_only_fields = fields

    def get_rater_link(self, study) -> str:
        request = self.context.get("request")
        return request.build_absolute_uri(rater_link(study)) if request else rater_link(study)

    def get_conditions(self, study) -> list[dict]:
        return [{"label": c.label, "checkpoint": c.checkpoint_id} for c in study.conditions.all()]
