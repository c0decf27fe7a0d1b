"""The studies' Celery tasks: periodic upkeep (beat, every STUDIES_MAINTENANCE_INTERVAL seconds) and
a large study's results recomputed off the request path (both on the upkeep queue)."""
from celery import shared_task

from .services.upkeep import maintain_studies as _maintain
from .limits import prune_expired
from .selectors.results_cache import REFRESH_TASK, refresh
from .services.stopping import close_by_stopping_rules


@shared_task(name="studies.maintain_studies", ignore_result=True)
def maintain_studies() -> dict:
    """Expire abandoned assignments, mark finished raters, close complete studies and those whose
    stopping rule is met, and delete the rate-limit counters of windows that have ended (studies/limits.py)."""
    result = _maintain()
    result["closed_by_stopping_rule"] = close_by_stopping_rules()
    result["rate_counters_deleted"] = prune_expired()
    return result


@shared_task(name=REFRESH_TASK, ignore_result=True)
def refresh_results(study_id: int, lock: str) -> dict:
    """Recompute a large study's results into the results cache (sent by a poll that found them
    stale, studies/selectors/results_cache.py) and free the poll's lock."""
    return refresh(study_id, lock)
