"""Counters of the abuse limits when no Redis is configured (studies/limits.py)."""
from django.db import models


class RateCounter(models.Model):
    """One fixed window of one limit for one client (address, token, study...).

    The key names the window (limit, hashed value, window number), so a window's expiry is written
    once, when its first request inserts the row, and later requests only add to the count in one
    atomic upsert. Rows are deleted only after they expired: a flood of new keys cannot push live
    counters out, as a size-bounded cache's culling did.
    """

    key = models.CharField(max_length=96, primary_key=True)
    count = models.PositiveIntegerField(default=0)
    expires_at = models.DateTimeField(db_index=True)

    class Meta:
        verbose_name = "rate-limit counter"

    def __str__(self):
        return f"{self.key}: {self.count}"
