"""Room for new raters: taking back the slots of raters who hold trials without answering, and the
caps on raters who have not answered yet and on raters of one address.

A join that finds too little room first takes back the slots of raters who hold without answering
(`reclaim_idle`); raters of one address, and raters of a study who have not answered yet, are capped
(`admit_address`, `admit_new_rater`), so a script that joins many times cannot hold a study.
"""
from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Exists, F, OuterRef, Q
from django.db.models.functions import Coalesce

from ..design import Slot
from ..errors import StudyBusy, TooManyFromAddress
from ..models import Assignment, AssignmentState, Participant, Study, TrialRole
from .holds import join_hold, ttl
from .loads import HELD_ROW_FIELDS, give_back

log = logging.getLogger(__name__)


def _release_raters(study: Study, raters: list[int]) -> int:
    """Expire the active main trials of these raters (they get them back, where there is still
    room, if they come back and answer); rows an answer is claiming right now are skipped."""
    if not raters:
        return 0
    with transaction.atomic():
        rows = list(Assignment.objects.filter(participant_id__in=raters, state=AssignmentState.ACTIVE,
                                              trial__role=TrialRole.MAIN, counts_toward_target=True)
                    .select_for_update(skip_locked=True, of=("self",)).order_by("pk").values_list(*HELD_ROW_FIELDS))
        if rows:
            give_back(rows)
    return len(rows)


def reclaim_idle(study: Study, now, *, need: int) -> int:
    """Take back at least `need` slots, if there are, from raters who hold trials without answering:
    first raters who never answered and joined more than STUDIES_RECLAIM_NEW_SECONDS ago (oldest
    first), then raters whose last answer is older than STUDIES_RECLAIM_IDLE_MINUTES (longest idle
    first). Whole raters at a time, so nobody is left with a plan full of holes. Returns how many
    trials were freed. Runs only when a join finds too little room."""
    new_grace = timedelta(seconds=getattr(settings, "STUDIES_RECLAIM_NEW_SECONDS", 60))
    idle = timedelta(minutes=getattr(settings, "STUDIES_RECLAIM_IDLE_MINUTES", 10))
    holding = Assignment.objects.filter(participant=OuterRef("pk"), state=AssignmentState.ACTIVE,
                                        trial__role=TrialRole.MAIN, expires_at__gt=now)
    # Bounded by when a hold can still run (a join hold, and one given back on a return; a TTL after
    # the last answer): raters who left long ago are not read, so this does not grow with the study.
    hold = join_hold(study)
    idle_raters = (Participant.objects.filter(study=study, is_preview=False, completed_at__isnull=True)
                   .filter(Q(last_active_at__isnull=True, created_at__lt=now - new_grace, created_at__gt=now - 2 * hold)
                           | Q(last_active_at__lt=now - idle, last_active_at__gt=now - ttl(study) - hold))
                   .filter(Exists(holding))
                   .annotate(planned=F("planned_main_trials"), since=Coalesce("last_active_at", "created_at"))
                   .order_by(F("last_active_at").asc(nulls_first=True), "since")
                   .values_list("pk", "planned"))
    chosen, freed = [], 0
    for pk, planned in idle_raters[:200]:
        chosen.append(pk)
        freed += planned
        if freed >= need:
            break
    released = _release_raters(study, chosen)
    if released:
        log.info("studies: study %s: %d trials taken back from %d raters holding without answering",
                 study.pk, released, len(chosen))
    return released


def raters_needed(study: Study, n_main: int) -> int:
    """How many raters fill the study: its main trials times the votes each needs, over a plan."""
    per_rater = min(study.trials_per_participant or n_main, n_main) or 1
    return -(-n_main * study.target_votes_per_item // per_rater)


def admit_new_rater(study: Study, all_main: list[Slot], now) -> None:
    """Cap the raters of a study who hold trials without having answered yet (a burst of scripted
    joins, or a hostile page's visitors, could otherwise hold the whole study): at most
    STUDIES_NEW_RATERS_SHARE of the raters the study needs, and at least STUDIES_NEW_RATERS_MIN.
    Over the cap the oldest of them (past STUDIES_RECLAIM_NEW_SECONDS) gives up their trials; if
    all of them joined just now, the join is refused for a moment (429 with Retry-After).

    Counted without a lock, so simultaneous joins can overshoot the cap by a few: the cap bounds a
    hoard, it does not meter a queue."""
    share = getattr(settings, "STUDIES_NEW_RATERS_SHARE", 0.5)
    if not share:
        return
    cap = max(getattr(settings, "STUDIES_NEW_RATERS_MIN", 5), int(share * raters_needed(study, len(all_main)) + 0.999))
    new_grace = timedelta(seconds=getattr(settings, "STUDIES_RECLAIM_NEW_SECONDS", 60))
    unconfirmed = list(Participant.objects.filter(
        study=study, is_preview=False, last_active_at__isnull=True, completed_at__isnull=True,
        created_at__gt=now - join_hold(study), assignments__state=AssignmentState.ACTIVE,
        assignments__expires_at__gt=now).order_by("created_at").values_list("pk", "created_at").distinct()[:cap])
    if len(unconfirmed) < cap:
        return
    oldest, joined = unconfirmed[0]
    if joined < now - new_grace and _release_raters(study, [oldest]):
        return
    raise StudyBusy("Many people are starting this study right now. Please try again in a minute.",
                    retry_after=int(new_grace.total_seconds()))


def admit_address(participant: Participant, now) -> None:
    """At most STUDIES_MAX_RATERS_PER_ADDRESS raters of one address hold trials of a study at once
    (0: no cap). Runs inside the join's transaction; on PostgreSQL a transaction-scoped advisory
    lock on (study, address) makes the count and the new rater's insert one step, so simultaneous
    joins from one address cannot all slip under the cap (SQLite runs writers one at a time)."""
    cap = getattr(settings, "STUDIES_MAX_RATERS_PER_ADDRESS", 3)
    if not cap:
        return
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))",
                           [f"studies.join:{participant.study_id}:{participant.client_address}"])
    holding = (Participant.objects.filter(study_id=participant.study_id, client_address=participant.client_address,
                                          is_preview=False, completed_at__isnull=True,
                                          assignments__state=AssignmentState.ACTIVE, assignments__expires_at__gt=now)
               .values("pk").distinct()[:cap].count())
    if holding >= cap:
        raise TooManyFromAddress(
            f"{cap} people from your network are taking part in this study right now. Please try again when one of "
            "them has finished.", retry_after=int(join_hold(participant.study).total_seconds()))
