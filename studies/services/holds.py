"""How long a rater's trials are held: the join hold, the TTL an answer renews, and how long a rater
who stops answering can still get trials back by calling in.

Holds are kept by progress only. A new rater holds their trials for STUDIES_JOIN_HOLD_MINUTES;
each answer renews the rest of their trials for the study's TTL (studies.services.responses, in
the statement that stores it). An open page that only calls in renews nothing
(studies.services.returning).
"""
from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings

from ..models import Participant, Study

EXTEND_MARGIN = timedelta(minutes=1)


def ttl(study: Study) -> timedelta:
    return timedelta(minutes=study.assignment_ttl_minutes)


def join_hold(study: Study) -> timedelta:
    hold = timedelta(minutes=getattr(settings, "STUDIES_JOIN_HOLD_MINUTES", 5))
    return min(hold, ttl(study))


def renew_margin(study: Study) -> timedelta:
    """An answer renews the rater's other trials only when their hold has run down by this much,
    so the renewal (one UPDATE of up to a whole plan) runs about every tenth of the TTL per rater,
    not on every answer. A rater's trials are thus kept between 0.9 and 1 TTL after their last answer."""
    return max(EXTEND_MARGIN, ttl(study) / 10)


def progress_cap(participant: Participant) -> datetime:
    """Until when a rater who stops answering may still get expired trials back by calling in: the
    study's TTL after their last answer, or the join hold after joining for a rater who never
    answered. Calling in renews nothing, so this is the total a hold can last without progress."""
    if participant.last_active_at is not None:
        return participant.last_active_at + ttl(participant.study)
    return participant.created_at + join_hold(participant.study)
