"""Images generated from sounds, each with its full provenance."""
from django.db import models

from jobs.models import Job

from .dataset import Pair
from .training import Checkpoint


class GeneratedImage(models.Model):
    checkpoint = models.ForeignKey(Checkpoint, on_delete=models.PROTECT, related_name="images")
    source_pair = models.ForeignKey(Pair, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="generated_images",
                                    help_text="The pair whose sound conditioned the image.")
    sound = models.FileField(max_length=500, help_text="The conditioning sound (under MEDIA_ROOT).")
    sound_label = models.CharField(max_length=100, db_index=True, help_text="Class of the sound.")
    image = models.FileField(max_length=500)
    volume = models.FloatField(default=1.0)
    seed = models.BigIntegerField(default=0)
    job = models.ForeignKey(Job, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    provenance = models.JSONField(default=dict, blank=True,
                                  help_text="variant, feature kind, checkpoint path/step, sound, volume, seed")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["checkpoint", "sound_label", "id"]
        constraints = [
            models.UniqueConstraint(fields=["checkpoint", "sound", "volume", "seed"],
                                    name="generated_image_unique"),
        ]

    def __str__(self):
        return f"{self.sound_label} from {self.checkpoint} (vol {self.volume:g}, seed {self.seed})"

    @property
    def variant(self) -> str:
        return self.checkpoint.run.variant
