"""How long a rater's trials are held (studies/services/holds.py): the join hold, capped by the
study's TTL; the renewal margin, a tenth of the TTL but at least a minute; the progress cap, a TTL
after the last answer or a join hold after joining."""
from datetime import datetime, timedelta
from datetime import timezone as dt_timezone

from studies.models import Participant, Study
from studies.services.holds import EXTEND_MARGIN, join_hold, progress_cap, renew_margin, ttl

JOINED = datetime(2026, 1, 5, 12, 0, tzinfo=dt_timezone.utc)


def test_the_join_hold_is_the_setting_but_never_longer_than_the_ttl(settings):
    settings.STUDIES_JOIN_HOLD_MINUTES = 5
    assert ttl(Study(assignment_ttl_minutes=30)) == timedelta(minutes=30)
    assert join_hold(Study(assignment_ttl_minutes=30)) == timedelta(minutes=5)
    assert join_hold(Study(assignment_ttl_minutes=3)) == timedelta(minutes=3)


def test_holds_are_renewed_a_tenth_of_the_ttl_before_they_end_and_never_less_than_a_minute_before():
    assert renew_margin(Study(assignment_ttl_minutes=60)) == timedelta(minutes=6)
    assert renew_margin(Study(assignment_ttl_minutes=15)) == timedelta(minutes=1, seconds=30)
    assert renew_margin(Study(assignment_ttl_minutes=5)) == EXTEND_MARGIN == timedelta(minutes=1)


def test_the_progress_cap_runs_from_the_last_answer_or_else_from_the_join(settings):
    settings.STUDIES_JOIN_HOLD_MINUTES = 5
    study = Study(assignment_ttl_minutes=30)
    assert progress_cap(Participant(study=study, created_at=JOINED)) == JOINED + timedelta(minutes=5)
    answered = Participant(study=study, created_at=JOINED, last_active_at=JOINED + timedelta(minutes=20))
    assert progress_cap(answered) == JOINED + timedelta(minutes=50)
