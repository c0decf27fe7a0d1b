"""Raters coming back (studies/services/returning.py): an expired trial is given back, held until
the time asked, where its trial still has room; where another rater filled it meanwhile it is
withdrawn from the plan for good, and the rater's next return tops the plan up with a free trial."""
from datetime import timedelta

import pytest
from django.utils import timezone

from studies.models import Assignment, AssignmentState, Trial, TrialRole
from studies.services import build_rating_study, open_study, start_participant
from studies.services.returning import has_expired, reactivate, resume_participant
from studies.services.upkeep import expire_stale

pytestmark = pytest.mark.django_db


def test_an_expired_trial_comes_back_where_there_is_room_and_is_replaced_where_there_is_none(world):
    study = open_study(build_rating_study("return", world["checkpoints"], target_votes=1, trials_per_participant=2,
                                          catch_trials=0, practice_trials=0))
    rater = start_participant(study)
    now = timezone.now()
    Assignment.objects.filter(participant=rater).update(expires_at=now - timedelta(seconds=1))
    assert expire_stale(now, study=study) == 2 and has_expired(rater)
    kept, lost = Assignment.objects.filter(participant=rater).select_related("trial").order_by("position")
    Trial.objects.filter(pk=lost.trial_id).update(load=1)  # another rater took it while this one was away
    until = now + timedelta(minutes=2)
    assert reactivate(rater, [kept, lost], now, until=until) == {kept.pk}
    kept.refresh_from_db()
    lost.refresh_from_db()
    assert (kept.state, kept.expires_at, lost.state) == (AssignmentState.ACTIVE, until, AssignmentState.WITHDRAWN)
    assert Trial.objects.get(pk=kept.trial_id).load == 1
    assert reactivate(rater, [kept], now) == set()  # not expired any more: nothing to give back
    Assignment.objects.filter(pk=kept.pk).update(expires_at=now - timedelta(seconds=1))
    assert expire_stale(now, study=study) == 1
    resume_participant(rater, now=now)  # back within the join hold: the kept trial again, and a new one
    main = rater.assignments.filter(trial__role=TrialRole.MAIN)
    assert main.count() == 3 and main.filter(state=AssignmentState.ACTIVE).count() == 2
    assert main.get(state=AssignmentState.WITHDRAWN).pk == lost.pk
    assert lost.trial_id not in main.filter(state=AssignmentState.ACTIVE).values_list("trial_id", flat=True)
