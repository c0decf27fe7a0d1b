"""What a rater sees: a Stimulus (sound + image(s) + provenance) presented as a Trial."""
from django.db import models
from django.db.models import Q

from .study import Condition, Study


class TrialRole(models.TextChoices):
    MAIN = "main", "Main (counted in the tables)"
    CATCH = "catch", "Catch (quality control)"
    PRACTICE = "practice", "Practice (not counted)"


class Stimulus(models.Model):
    """A sound and the image(s) shown with it. Paths are relative to MEDIA_ROOT and never sent to raters.

    `sound`, `image` and `other_image` are the files served to raters: copies made when the study is
    built, re-encoded (WAV, PNG) without metadata, since a source file's tags (an OGG title, a PNG
    text chunk) could name a class or a model. `source_*` keep the original paths for the exports.

    Rating study: `image` is the picture rated. Correlation study: `image` is the positive picture
    (from the sound heard) and `other_image` the negative one (from a sound of `other_label`).
    """

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="stimuli")
    sound = models.CharField(max_length=500)
    sound_duration_s = models.FloatField(default=0.0)
    sound_label = models.CharField(max_length=100, help_text="Class of the sound (staff only).")
    image = models.CharField(max_length=500)
    other_image = models.CharField(max_length=500, blank=True)
    other_label = models.CharField(max_length=100, blank=True)
    generated_image = models.ForeignKey("gan.GeneratedImage", null=True, blank=True,
                                        on_delete=models.PROTECT, related_name="+")
    other_generated_image = models.ForeignKey("gan.GeneratedImage", null=True, blank=True,
                                              on_delete=models.PROTECT, related_name="+")
    real_pair = models.ForeignKey("gan.Pair", null=True, blank=True, on_delete=models.PROTECT,
                                  related_name="+", help_text="Catch/practice: the real photo shown.")
    other_real_pair = models.ForeignKey("gan.Pair", null=True, blank=True, on_delete=models.PROTECT,
                                        related_name="+")
    source_sound = models.CharField(max_length=500, blank=True, help_text="The original sound (under MEDIA_ROOT).")
    source_image = models.CharField(max_length=500, blank=True)
    source_other_image = models.CharField(max_length=500, blank=True)
    provenance = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["study", "id"]
        verbose_name_plural = "stimuli"
        constraints = [
            models.CheckConstraint(condition=Q(sound_duration_s__gte=0), name="stimulus_duration_nonneg"),
        ]

    def __str__(self):
        return f"stimulus #{self.pk} ({self.sound_label})"


class Trial(models.Model):
    """One item of a study; main trials collect `target_votes_per_item` votes each."""

    # trial_study_role and trial_unique_item start with the study: no index of its own
    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="trials", db_index=False)
    stimulus = models.ForeignKey(Stimulus, on_delete=models.CASCADE, related_name="trials")
    condition = models.ForeignKey(Condition, null=True, blank=True, on_delete=models.PROTECT,
                                  related_name="trials",
                                  help_text="The model shown (pairwise: the one in `image`); empty for a real photo.")
    other_condition = models.ForeignKey(
        Condition, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
        help_text="Pairwise study: the model whose image is `other_image`.")
    role = models.CharField(max_length=8, choices=TrialRole.choices, default=TrialRole.MAIN)
    catch_expectation = models.CharField(
        max_length=16, blank=True,
        help_text="Catch trials: 'low_rating' (broken image), 'positive' (real photo of the right class, or in a "
                  "pairwise study the unbroken image), 'fake' or 'real' (realism); also set on realism "
                  "qualification (practice) trials, whose known answers screen raters.")
    vote_count = models.PositiveIntegerField(default=0, help_text="Answers from non-preview raters.")
    # Kept by studies.services.loads in the same transactions that change assignments, so a join reads
    # the loads of a study's trials in one small query instead of counting its assignments.
    load = models.PositiveIntegerField(
        default=0, help_text="Live assignments of non-preview raters: answered, or active until the periodic "
                             "job expires them. Never above the study's target votes per item.")
    left_load = models.PositiveIntegerField(
        default=0, help_text="Of `load`, those showing the heard sound's picture on the left (correlation).")
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["study", "position", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(role__in=TrialRole.values), name="trial_role_valid"),
            models.CheckConstraint(
                condition=~Q(role="catch") | Q(catch_expectation__in=["low_rating", "positive", "real", "fake"]),
                name="trial_catch_has_expectation"),
            models.UniqueConstraint(fields=["study", "stimulus", "condition"], name="trial_unique_item"),
            models.CheckConstraint(condition=Q(left_load__lte=models.F("load")), name="trial_left_load_within_load"),
        ]
        # Not on vote_count: every answer adds a vote, and a row whose indexed columns do not change is
        # updated in place (a HOT update, no index writes); the few scans by votes filter a study's rows.
        indexes = [models.Index(fields=["study", "role"], name="trial_study_role")]

    def __str__(self):
        return f"trial #{self.pk} ({self.role})"
