"""Raters: an anonymous Participant, the Assignments the server gave them, and their Responses."""
import secrets

from django.db import models
from django.db.models import Q

from .study import Study, new_public_key
from .trials import Trial


def new_participant_token() -> str:
    return secrets.token_urlsafe(24)


def new_rater_code() -> str:
    """A rater's own completion code: 64 random bits (16 hex digits), so codes never collide in
    practice and one cannot be guessed from another; the unique constraint is the backstop."""
    return secrets.token_hex(8).upper()


class Participant(models.Model):
    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="participants")
    token = models.CharField(max_length=64, unique=True, default=new_participant_token, editable=False,
                             help_text="The rater's only credential; it is in their URL so any device resumes.")
    is_preview = models.BooleanField(default=False, help_text="Staff preview: never counted.")
    platform = models.CharField(max_length=16, blank=True, help_text="prolific, mturk or empty.")
    crowd_participant_id = models.CharField(max_length=200, blank=True,
                                            help_text="PROLIFIC_PID or MTurk workerId.")
    crowd_study_id = models.CharField(max_length=200, blank=True, help_text="STUDY_ID or hitId.")
    crowd_session_id = models.CharField(max_length=200, blank=True,
                                        help_text="SESSION_ID or MTurk assignmentId.")
    url_params = models.JSONField(default=dict, blank=True, help_text="Every query parameter of the link.")
    user_agent = models.CharField(max_length=400, blank=True)
    planned_main_trials = models.PositiveIntegerField(default=0)
    completion_code = models.CharField(
        max_length=32, unique=True, null=True, default=new_rater_code, editable=False,
        help_text="This rater's own completion code (beside the study's); staff can search for it.")
    client_address = models.CharField(
        max_length=64, blank=True, editable=False, db_default="",
        help_text="A keyed hash of the address the rater joined from (never the address itself): "
                  "caps how many raters of one address hold trials at once.")
    created_at = models.DateTimeField(auto_now_add=True)
    last_active_at = models.DateTimeField(
        null=True, blank=True, help_text="The rater's last answer (progress); empty until their first.")
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["study", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(platform__in=["", "prolific", "mturk"]),
                                   name="participant_platform_valid"),
            # One Participant per crowd worker, platform session and study: the same session
            # resumes, never restarts; another session of the same id (a squatter who came first
            # with a made-up one, or a retake the platform allowed) is a rater of its own.
            models.UniqueConstraint(fields=["study", "platform", "crowd_participant_id", "crowd_session_id"],
                                    condition=~Q(crowd_participant_id=""),
                                    name="participant_unique_crowd_session"),
        ]
        indexes = [
            models.Index(fields=["study", "client_address"], condition=~Q(client_address=""),
                         name="participant_study_address"),
            # Raters who have not answered yet, by join time: the cap on them (studies.services.admission).
            models.Index(fields=["study", "created_at"], condition=Q(last_active_at__isnull=True),
                         name="participant_unconfirmed"),
            # Raters by their last answer: who holds without answering (studies.services.admission.reclaim_idle).
            models.Index(fields=["study", "last_active_at"], name="participant_study_progress"),
        ]

    def __str__(self):
        return f"participant #{self.pk}"


class AssignmentState(models.TextChoices):
    ACTIVE = "active", "Waiting for an answer"
    ANSWERED = "answered", "Answered"
    EXPIRED = "expired", "Expired (back in the pool)"
    WITHDRAWN = "withdrawn", "Expired and given to another rater (no longer in this rater's plan)"


class Side(models.TextChoices):
    LEFT = "left", "Left"
    RIGHT = "right", "Right"


class Assignment(models.Model):
    """A trial given to one participant, at a position in their order and with sides chosen for them."""

    # No index of their own on the foreign keys: the constraints' and indexes' composite keys start with
    # them, and every index is one more write when an answer moves the row (measured on the answer path).
    participant = models.ForeignKey(Participant, on_delete=models.CASCADE, related_name="assignments", db_index=False)
    trial = models.ForeignKey(Trial, on_delete=models.CASCADE, related_name="assignments", db_index=False)
    # Unique by a constraint rather than unique=True, which on PostgreSQL adds a second (LIKE-pattern)
    # index that no query uses.
    public_key = models.CharField(max_length=40, default=new_public_key, editable=False,
                                  help_text="The opaque id raters see for this trial and its media.")
    position = models.PositiveIntegerField()
    positive_side = models.CharField(max_length=5, choices=Side.choices, blank=True,
                                     help_text="Correlation study: where the image from the heard sound is.")
    state = models.CharField(max_length=9, choices=AssignmentState.choices, default=AssignmentState.ACTIVE)
    counts_toward_target = models.BooleanField(default=True, help_text="False for preview raters.")
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    first_served_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["participant", "position"]
        constraints = [
            models.UniqueConstraint(fields=["public_key"], name="assignment_unique_public_key"),
            models.UniqueConstraint(fields=["participant", "trial"], name="assignment_unique_trial"),
            models.UniqueConstraint(fields=["participant", "position"], name="assignment_unique_position"),
            models.CheckConstraint(condition=Q(state__in=AssignmentState.values), name="assignment_state_valid"),
            models.CheckConstraint(condition=Q(positive_side__in=["", "left", "right"]),
                                   name="assignment_side_valid"),
        ]
        indexes = [
            models.Index(fields=["trial", "state", "expires_at"], name="assignment_trial_load"),
            # The periodic job's scan: active assignments past their expiry.
            models.Index(fields=["expires_at"], condition=Q(state="active"), name="assignment_active_expiry"),
        ]

    def __str__(self):
        return f"assignment #{self.pk} ({self.state})"


class Choice(models.TextChoices):
    LEFT = "left", "Left image"
    RIGHT = "right", "Right image"
    NEITHER = "neither", "Neither"
    REAL = "real", "Real photo (realism)"
    FAKE = "fake", "Made by computer (realism)"


class ChosenRole(models.TextChoices):
    """Which image was chosen, side-free. Pairwise study: positive = the trial's `condition`'s image,
    negative = its `other_condition`'s, neither = no difference. Realism: the answer itself."""

    POSITIVE = "positive", "Image from the heard sound"
    NEGATIVE = "negative", "Image from another class's sound"
    NEITHER = "neither", "Neither"
    REAL = "real", "Called a real photo"
    FAKE = "fake", "Called made by computer"


class Response(models.Model):
    """One answer. Exactly one of `rating` (rating study) or `choice` (the other kinds) is set."""

    assignment = models.OneToOneField(Assignment, on_delete=models.CASCADE, related_name="response")
    # response_one_per_trial (participant, trial) is the participant's index
    participant = models.ForeignKey(Participant, on_delete=models.CASCADE, related_name="responses", db_index=False)
    trial = models.ForeignKey(Trial, on_delete=models.CASCADE, related_name="responses")
    client_id = models.UUIDField(unique=True, help_text="Made by the browser; a retry with it is a no-op.")
    rating = models.PositiveSmallIntegerField(null=True, blank=True)
    choice = models.CharField(max_length=8, choices=Choice.choices, blank=True)
    chosen_role = models.CharField(max_length=8, choices=ChosenRole.choices, blank=True)
    response_time_ms = models.PositiveIntegerField()
    play_count = models.PositiveIntegerField()
    presented_position = models.PositiveIntegerField()
    positive_side = models.CharField(max_length=5, blank=True)
    client_answered_at = models.DateTimeField(null=True, blank=True,
                                              help_text="When the browser took it (may be offline, earlier).")
    sound_started_at = models.DateTimeField(null=True, blank=True,
                                            help_text="When this trial's sound started playing (the page's word).")
    sound_ended_at = models.DateTimeField(null=True, blank=True,
                                          help_text="When it ended; empty if it did not play to its end.")
    played_to_end = models.BooleanField(
        null=True, help_text="The sound of this trial played to its end and the reported playback lasted at least "
                             "its duration (checked by the server). Empty for answers stored before it was recorded.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["participant", "trial"], name="response_one_per_trial"),
            models.CheckConstraint(condition=Q(rating__isnull=True) | (Q(rating__gte=1) & Q(rating__lte=5)),
                                   name="response_rating_1_5"),
            models.CheckConstraint(condition=Q(choice__in=["", "left", "right", "neither", "real", "fake"]),
                                   name="response_choice_valid"),
            models.CheckConstraint(
                condition=(Q(rating__isnull=False) & Q(choice="") & Q(chosen_role=""))
                | (Q(rating__isnull=True) & ~Q(choice="") & ~Q(chosen_role="")),
                name="response_rating_xor_choice"),
            models.CheckConstraint(condition=Q(play_count__gte=1), name="response_sound_played"),
        ]

    def __str__(self):
        return f"response #{self.pk}"
