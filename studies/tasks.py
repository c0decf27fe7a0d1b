"""Periodic upkeep of the studies (Celery beat, every STUDIES_MAINTENANCE_INTERVAL seconds)."""
from celery import shared_task

from .assignment import maintain_studies as _maintain


@shared_task(name="studies.maintain_studies", ignore_result=True)
def maintain_studies() -> dict:
    """Expire abandoned assignments, mark finished raters, close complete studies."""
    return _maintain()
