"""Closing open studies whose stopping rule (fixed at build time, studies.planning.StoppingRule) is met."""
from __future__ import annotations

import logging

from django.utils import timezone

from ..models import Study, StudyState
from ..selectors.kinds import KINDS_BEYOND_THE_PAPER
from ..selectors.results import study_results

log = logging.getLogger(__name__)


def close_by_stopping_rules(now=None) -> list[int]:
    """Close every open realism / pairwise study whose rule says stop; returns their ids. The rule's
    decision, with the half-widths it saw, is kept in the study's build parameters (the results
    report it); the cap of votes per item is the periodic job's usual close."""
    now = now or timezone.now()
    closed = []
    for study in Study.objects.filter(state=StudyState.OPEN, kind__in=KINDS_BEYOND_THE_PAPER):
        if not (study.build_params or {}).get("stopping"):
            continue
        decision = study_results(study).get("stopping")
        if not decision or not decision["stop"]:
            continue
        params = {**study.build_params, "stopped": {**decision, "at": now.isoformat()}}
        if Study.objects.filter(pk=study.pk, state=StudyState.OPEN).update(
                state=StudyState.CLOSED, closed_at=now, build_params=params):
            closed.append(study.pk)
    if closed:
        log.info("studies: closed by their stopping rule: %s", closed)
    return closed
