"""A study (rating or correlation) and the conditions it compares."""
import secrets

from django.conf import settings
from django.db import models
from django.db.models import Q


def new_public_key() -> str:
    """An unguessable URL-safe key; carries no information about what it names."""
    return secrets.token_urlsafe(16)


def new_completion_code() -> str:
    return secrets.token_hex(4).upper()


class StudyKind(models.TextChoices):
    RATING = "rating", "Rate one image 1-5 (Table 5)"
    CORRELATION = "correlation", "Pick the image that fits the sound, or neither (Table 6)"
    REALISM = "realism", "Real photo or made by computer? (error rates, HYPE-infinity)"
    PAIRWISE = "pairwise", "Which of two models' images fits the sound better? (Bradley-Terry)"


# Kinds whose trials show two images side by side (sides are balanced at assignment time).
TWO_IMAGE_KINDS = (StudyKind.CORRELATION, StudyKind.PAIRWISE)


class StudyState(models.TextChoices):
    DRAFT = "draft", "Draft"
    OPEN = "open", "Open"
    CLOSED = "closed", "Closed"


DEFAULT_INSTRUCTIONS = {
    StudyKind.RATING: (
        "You will hear a short sound and see one picture. Rate from 1 (unreal, or unrelated to the "
        "sound) to 5 (realistic and clearly matching the sound). Listen to the whole sound first."
    ),
    StudyKind.CORRELATION: (
        "You will hear a short sound and see two pictures. Choose the picture that fits the sound, or "
        "'Neither' if neither fits. Listen to the whole sound first."
    ),
    StudyKind.REALISM: (
        "You will hear a short sound and see one picture. Some pictures are real photos, others were made by a "
        "computer. Say whether you think the picture is a real photo or made by a computer."
    ),
    StudyKind.PAIRWISE: (
        "You will hear a short sound and see two pictures. Choose the picture that fits the sound better, or "
        "'No difference' if you cannot choose. Listen to the whole sound first."
    ),
}

DEFAULT_CONSENT = (
    "This is a research study about pictures made by a computer from sounds. Taking part is voluntary "
    "and you may stop at any time. We record your answers, how long you took and how often you played "
    "each sound, with an anonymous id; no name or e-mail is asked for."
)


class Study(models.Model):
    name = models.CharField(max_length=200, help_text="Staff-facing name (never shown to raters).")
    public_key = models.CharField(max_length=40, unique=True, default=new_public_key, editable=False,
                                  help_text="The opaque id in the study link.")
    kind = models.CharField(max_length=16, choices=StudyKind.choices)
    title = models.CharField(max_length=200, default="Listening study",
                             help_text="Shown to raters; must not name models or classes.")
    instructions = models.TextField(blank=True)
    consent_text = models.TextField(default=DEFAULT_CONSENT)
    state = models.CharField(max_length=8, choices=StudyState.choices, default=StudyState.DRAFT)
    target_votes_per_item = models.PositiveIntegerField(default=10)
    trials_per_participant = models.PositiveIntegerField(
        null=True, blank=True, help_text="Main trials per rater; empty = every main trial once.")
    require_full_playback = models.BooleanField(
        default=True, help_text="An answer is taken only after the sound has played to its end.")
    assignment_ttl_minutes = models.PositiveIntegerField(
        default=60, help_text="An unanswered trial goes back to the pool after this much inactivity.")
    catch_max_rating = models.PositiveSmallIntegerField(
        default=2, help_text="Rating study: a broken-image catch trial is passed with at most this rating.")
    min_catch_accuracy = models.FloatField(
        default=0.5, help_text="Screening: raters passing fewer catch trials than this share are excluded.")
    completion_code = models.CharField(max_length=32, default=new_completion_code,
                                       help_text="The study-wide code (what Prolific checks).")
    per_rater_codes = models.BooleanField(
        default=False, help_text="Hand each rater their own code instead of the study-wide one (MTurk's form, the "
                                 "'{code}' of the redirect; Prolific's standard URL always carries the study-wide code). "
                                 "Either way each rater's own code is shown, exported and searchable.")
    count_incomplete_raters = models.BooleanField(
        default=True, help_text="Count the answers of raters who did not answer every trial in the results tables. "
                                "They are marked in the export either way.")
    completion_redirect_url = models.URLField(
        max_length=500, blank=True,
        help_text="Where a crowd rater is sent at the end; '{code}' is replaced by the completion code. "
                  "Empty: Prolific's standard completion URL for Prolific raters.")
    build_params = models.JSONField(default=dict, blank=True, help_text="How the study was built.")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    opened_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "studies"
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=StudyKind.values), name="study_kind_valid"),
            models.CheckConstraint(condition=Q(state__in=StudyState.values), name="study_state_valid"),
            models.CheckConstraint(condition=Q(target_votes_per_item__gte=1), name="study_target_positive"),
            models.CheckConstraint(condition=Q(trials_per_participant__isnull=True)
                                   | Q(trials_per_participant__gte=1), name="study_trials_positive"),
            models.CheckConstraint(condition=Q(assignment_ttl_minutes__gte=1), name="study_ttl_positive"),
            models.CheckConstraint(condition=Q(catch_max_rating__gte=1) & Q(catch_max_rating__lte=5),
                                   name="study_catch_max_rating_1_5"),
            models.CheckConstraint(condition=Q(min_catch_accuracy__gte=0) & Q(min_catch_accuracy__lte=1),
                                   name="study_min_catch_accuracy_0_1"),
        ]

    def __str__(self):
        return f"{self.name} ({self.kind}, {self.state})"

    @property
    def is_rating(self) -> bool:
        return self.kind == StudyKind.RATING

    @property
    def shows_two_images(self) -> bool:
        return self.kind in TWO_IMAGE_KINDS

    @property
    def effective_instructions(self) -> str:
        return self.instructions or DEFAULT_INSTRUCTIONS[StudyKind(self.kind)]


class Condition(models.Model):
    """One model variant (a checkpoint) being compared. Raters never see anything of it."""

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="conditions")
    checkpoint = models.ForeignKey("gan.Checkpoint", on_delete=models.PROTECT, related_name="+")
    label = models.CharField(max_length=100, help_text="Staff-facing row name in Table 5.")
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["study", "position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["study", "checkpoint"], name="condition_unique_checkpoint"),
            models.UniqueConstraint(fields=["study", "label"], name="condition_unique_label"),
        ]

    def __str__(self):
        return self.label
