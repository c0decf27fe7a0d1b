"""A sound a researcher uploaded or recorded on the "Try it" page, stored once (by content) and reused
by every later volume or seed request. The images made from it are files under MEDIA_ROOT, not
GeneratedImage rows: they belong to no test split, so no evaluation or study may pick them up."""
from django.conf import settings
from django.db import models


class TrySound(models.Model):
    sha256 = models.CharField(max_length=64, unique=True, help_text="Of the uploaded bytes: one row per sound.")
    file = models.FileField(max_length=500, help_text="The uploaded bytes as sent (under MEDIA_ROOT).")
    original_name = models.CharField(max_length=255, blank=True)
    audio_format = models.CharField(max_length=32, help_text="What the decoder found (wav, flac, webm, ...).")
    duration_s = models.FloatField()
    sample_rate = models.PositiveIntegerField()
    size_bytes = models.PositiveBigIntegerField()
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "try-it sound"

    def __str__(self):
        return f"{self.original_name or 'sound'} #{self.pk} ({self.duration_s:.1f} s)"
