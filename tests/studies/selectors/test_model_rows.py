"""studies.selectors.model_rows and the rater lookup built on it: the instances the ORM would build."""
import uuid
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from studies.models import Participant, Study
from studies.selectors import rater as rater_selectors
from studies.services import build_rating_study, open_study

from ..helpers import join

pytestmark = pytest.mark.django_db


def _fields(instance):
    return {field.attname: getattr(instance, field.attname) for field in type(instance)._meta.concrete_fields}


def test_the_rater_and_study_read_raw_are_what_the_orm_reads(client, world, settings):
    settings.STUDIES_RATER_CACHE_SECONDS = 0
    study = open_study(build_rating_study("rows", world["checkpoints"], target_votes=3, catch_trials=0,
                                          practice_trials=0))
    rater = join(client, study)
    # every kind of column set: text, JSON with nesting and non-ASCII, booleans, datetimes, nulls
    Participant.objects.filter(pk=rater.pk).update(
        url_params={"PROLIFIC_PID": "a" * 24, "nested": {"k": [1, 2.5, None]}, "note": "zürich ✓"},
        last_active_at=timezone.now() - timedelta(seconds=3), completed_at=None, is_preview=False,
        user_agent="Mozilla ünïcode")
    with CaptureQueriesContext(connection) as queries:
        lean = rater_selectors.participant_for_token(rater.token)
    assert len(queries.captured_queries) == 1
    orm = Participant.objects.select_related("study").get(pk=rater.pk)
    assert _fields(lean) == _fields(orm)
    assert _fields(lean.study) == _fields(orm.study)
    assert type(lean.study.public_key) is type(orm.study.public_key)
    assert lean._state.adding is False and lean._state.db == orm._state.db
    with CaptureQueriesContext(connection) as queries:
        assert lean.study.pk == study.pk and lean.study_id == study.pk   # the join filled the relation
    assert queries.captured_queries == []
    lean.last_active_at = timezone.now()
    lean.save(update_fields=["last_active_at"])                         # a normal model instance
    assert Participant.objects.get(pk=rater.pk).last_active_at == lean.last_active_at


def test_unknown_and_odd_tokens_are_none(settings):
    settings.STUDIES_RATER_CACHE_SECONDS = 0
    for token in ("no-such", "x" * 64, str(uuid.uuid4()), "'; DROP TABLE x; --"):
        assert rater_selectors.participant_for_token(token) is None
    assert Participant.objects.count() == 0   # the table is still there, and nothing was made


def test_the_study_a_link_names_is_what_the_orm_reads(world):
    study = open_study(build_rating_study("by key", world["checkpoints"], target_votes=3, catch_trials=0,
                                          practice_trials=0))
    with CaptureQueriesContext(connection) as queries:
        lean = rater_selectors.study_for_key(study.public_key)
    assert len(queries.captured_queries) == 1
    assert _fields(lean) == _fields(Study.objects.get(pk=study.pk))
    assert lean._state.adding is False


def test_unknown_and_odd_study_keys_are_none(world):
    open_study(build_rating_study("one", world["checkpoints"], target_votes=3, catch_trials=0, practice_trials=0))
    for key in ("", "no-such", "k" * 65, "'; DROP TABLE x; --", "%"):
        assert rater_selectors.study_for_key(key) is None
    assert Study.objects.count() == 1
