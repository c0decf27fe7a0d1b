"""The studies' periodic job (`studies.tasks.maintain_studies`, Celery beat): expire abandoned
trials (their load given back), mark raters who finished, close studies that have their votes.

A join that finds no room also expires the study's stale assignments first
(studies.services.assignment), so a site without beat still recycles abandoned slots.
"""
from __future__ import annotations

import logging

from django.db import transaction
from django.db.models import Count, Exists, F, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from ..models import Assignment, AssignmentState, Participant, Study, StudyState, Trial, TrialRole
from .loads import HELD_ROW_FIELDS, give_back

log = logging.getLogger(__name__)


def expire_stale(now=None, *, study: Study | None = None, batch: int = 2000) -> int:
    """Active assignments past their expiry go back to the pool (their load is given back).

    Rows an answer is claiming right now are skipped (that answer wins); returns how many expired.
    """
    now = now or timezone.now()
    total = 0
    while True:
        with transaction.atomic():
            stale = Assignment.objects.filter(state=AssignmentState.ACTIVE, expires_at__lte=now)
            if study is not None:
                stale = stale.filter(participant__study=study)
            rows = list(stale.select_for_update(skip_locked=True, of=("self",)).order_by("pk").values_list(
                *HELD_ROW_FIELDS)[:batch])
            if not rows:
                return total
            give_back(rows)
        total += len(rows)
        if len(rows) < batch:
            return total


def close_if_complete(study_id: int, *, now=None) -> bool:
    """Close an open study once every main trial has its target of votes and no rater is mid-way.

    Raters still holding unexpired trials (e.g. a catch trial after their last main one) may finish;
    once they have (or their trials expired), the study closes. Returns True if it closed now.
    """
    now = now or timezone.now()
    study = Study.objects.only("id", "target_votes_per_item", "state").filter(pk=study_id).first()
    if study is None or study.state != StudyState.OPEN:
        return False
    main = Trial.objects.filter(study=study, role=TrialRole.MAIN)
    if not main.exists() or main.filter(vote_count__lt=study.target_votes_per_item).exists():
        return False
    busy = Assignment.objects.filter(participant__study=study, state=AssignmentState.ACTIVE, expires_at__gt=now,
                                     counts_toward_target=True).exists()
    if busy:
        return False
    return bool(Study.objects.filter(pk=study.pk, state=StudyState.OPEN).update(state=StudyState.CLOSED,
                                                                                  closed_at=now))


def mark_finished_participants(now=None) -> int:
    """Raters who answered every trial of their plan get their completion time (a backstop for two
    last answers that raced; the answer path marks it itself otherwise). The plan: the main trials
    planned at the join and every practice and catch trial of the study; a trial still active or
    expired (theirs to answer when they return) means not finished."""
    now = now or timezone.now()
    open_rows = Assignment.objects.filter(participant=OuterRef("pk"),
                                          state__in=[AssignmentState.ACTIVE, AssignmentState.EXPIRED])
    extra = (Trial.objects.filter(study=OuterRef("study")).exclude(role=TrialRole.MAIN).order_by()
             .values("study").annotate(n=Count("pk")).values("n"))
    done = list(Participant.objects.filter(completed_at__isnull=True, assignments__state=AssignmentState.ANSWERED)
                .exclude(Exists(open_rows))
                .annotate(n_answered=Count("assignments"), n_extra=Coalesce(Subquery(extra), 0))
                .filter(n_answered__gte=F("planned_main_trials") + F("n_extra")).values_list("pk", flat=True))
    if not done:
        return 0
    return Participant.objects.filter(pk__in=done, completed_at__isnull=True).update(completed_at=now)


def maintain_studies(now=None) -> dict:
    """The periodic job: expire stale assignments, mark finished raters, close complete studies."""
    now = now or timezone.now()
    expired = expire_stale(now)
    finished = mark_finished_participants(now)
    closed = [pk for pk in Study.objects.filter(state=StudyState.OPEN).values_list("pk", flat=True)
              if close_if_complete(pk, now=now)]
    if expired or closed:
        log.info("studies: %d assignments expired, %d raters finished, studies closed: %s", expired, finished, closed)
    return {"expired": expired, "finished": finished, "closed": closed}
