"""Closing by a stopping rule (studies/services/stopping.py): only open realism and pairwise studies
that have a rule are asked; the rule's decision is kept in the study's build parameters."""
from datetime import datetime
from datetime import timezone as dt_timezone

import pytest

from studies.models import Study, StudyKind, StudyState
from studies.services import stopping

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 2, 1, 9, 30, tzinfo=dt_timezone.utc)


def _study(name, kind, state=StudyState.OPEN, rule=True):
    params = {"stopping": {"half_width": 0.1, "min_raters": 5}} if rule else {}
    return Study.objects.create(name=name, kind=kind, state=state, build_params=params)


def test_a_study_whose_rule_says_stop_is_closed_with_the_decision_it_saw(monkeypatch):
    stops = _study("stops", StudyKind.REALISM)
    goes_on = _study("goes on", StudyKind.PAIRWISE)
    no_rule = _study("no rule", StudyKind.REALISM, rule=False)
    rating = _study("rating", StudyKind.RATING)
    closed = _study("closed", StudyKind.PAIRWISE, state=StudyState.CLOSED)
    asked = []

    def results(study):
        asked.append(study.name)
        return {"stopping": {"stop": study.pk == stops.pk, "half_widths": [0.08, 0.09]}}

    monkeypatch.setattr(stopping, "study_results", results)
    assert stopping.close_by_stopping_rules(NOW) == [stops.pk]
    assert sorted(asked) == ["goes on", "stops"]  # no rule, a rating study, a closed one: never computed
    stops.refresh_from_db()
    assert stops.state == StudyState.CLOSED and stops.closed_at == NOW
    assert stops.build_params == {"stopping": {"half_width": 0.1, "min_raters": 5},
                                  "stopped": {"stop": True, "half_widths": [0.08, 0.09], "at": NOW.isoformat()}}
    for other in (goes_on, no_rule, rating):
        other.refresh_from_db()
        assert other.state == StudyState.OPEN and "stopped" not in other.build_params
    closed.refresh_from_db()
    assert closed.closed_at is None


def test_a_study_without_a_decision_yet_stays_open(monkeypatch):
    study = _study("early", StudyKind.PAIRWISE)
    monkeypatch.setattr(stopping, "study_results", lambda s: {"stopping": None})
    assert stopping.close_by_stopping_rules(NOW) == []
    study.refresh_from_db()
    assert study.state == StudyState.OPEN
