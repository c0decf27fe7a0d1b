"""Periodic upkeep of the studies (Celery beat, every STUDIES_MAINTENANCE_INTERVAL seconds)."""
from celery import shared_task

from .services.upkeep import maintain_studies as _maintain
from .limits import prune_expired
from .services.stopping import close_by_stopping_rules


@shared_task(name="studies.maintain_studies", ignore_result=True)
def maintain_studies() -> dict:
    """Expire abandoned assignments, mark finished raters, close complete studies and those whose
    stopping rule is met, and delete the rate-limit counters of windows that have ended (studies/limits.py)."""
    result = _maintain()
    result["closed_by_stopping_rule"] = close_by_stopping_rules()
    result["rate_counters_deleted"] = prune_expired()
    return result
