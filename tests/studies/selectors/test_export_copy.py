"""studies.selectors.export_copy: the PostgreSQL COPY export writes the ORM path's file byte for byte."""
from datetime import UTC, datetime

import pytest

from studies.export import stream_csv
from studies.models import Participant, Response
from studies.selectors import export_copy
from studies.selectors.export import EXPORT_HEADER, export_csv, export_rows
from studies.selectors.export_copy import _crlf
from studies.services import build_rating_study, open_study

from ..helpers import answer_body, fetch_sound, join, post_answer, state

pytestmark = pytest.mark.django_db

AWKWARD = ["=HYPERLINK(\"x\")", "a,b", 'say "hi"', "line1\nline2", "crlf\r\nend", "", "-3", "-2.5e3", "+x",
           "@SUM(1)", "\tlead", "\uff1d1", "Ünïcödé 音·", " =space", "-", "'already", "x" * 150]


def orm_file(study, *, bom=False, **kwargs) -> bytes:
    return b"".join(stream_csv(EXPORT_HEADER, export_rows(study, **kwargs), lines_per_chunk=500, bom=bom))


@pytest.fixture
def answered(client, world):
    study = open_study(build_rating_study("copy", world["checkpoints"], target_votes=len(AWKWARD), catch_trials=1))
    for k, text in enumerate(AWKWARD):
        rater = join(client, study, PROLIFIC_PID=f"P{k}", SESSION_ID=f"S{k}")
        trials = state(client, rater)["trials"]
        for trial in trials[: 1 + k % 3]:
            fetch_sound(client, rater, trial)
            assert post_answer(client, rater, answer_body(trial, "rating", 1 + k % 5)).status_code == 201
        Participant.objects.filter(pk=rater.pk).update(
            crowd_participant_id=text, crowd_session_id=AWKWARD[-1 - k], completion_code=None if k % 4 == 0 else
            f"CODE{k}", completed_at=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC) if k % 2 else None)
    # a time without microseconds (isoformat leaves them out) and one with
    first = Response.objects.filter(trial__study=study).order_by("id").first()
    Response.objects.filter(pk=first.pk).update(created_at=datetime(2026, 5, 6, 7, 8, 9, tzinfo=UTC),
                                                 client_answered_at=datetime(2026, 5, 6, 7, 8, 9, 12, tzinfo=UTC),
                                                 sound_started_at=None, sound_ended_at=None)
    return study


@pytest.mark.db_backend("postgresql", reason="COPY is PostgreSQL's")
@pytest.mark.parametrize("bom", [False, True])
def test_copy_export_is_the_orm_export_byte_for_byte(answered, bom, monkeypatch):
    monkeypatch.setattr(export_copy, "CHUNK_IDS", 3)  # many ranges, some of them empty
    expected = orm_file(answered, bom=bom)
    written = b"".join(export_csv(answered, bom=bom))
    assert written.count(b"\r\n") >= Response.objects.filter(trial__study=answered).count() + 1
    assert written == expected
    assert b"'=HYPERLINK" in written and b"'@SUM" in written and b",-3," in written


@pytest.mark.db_backend("postgresql", reason="COPY is PostgreSQL's")
def test_copy_export_of_no_responses_is_the_header(world):
    study = build_rating_study("empty", world["checkpoints"])
    assert b"".join(export_csv(study)) == orm_file(study)
    assert b"".join(export_csv(study)).decode().strip() == ",".join(EXPORT_HEADER)


@pytest.mark.db_backend("postgresql", reason="COPY is PostgreSQL's")
def test_copy_export_leaves_previews_out_unless_asked(client, answered):
    from studies.services import preview_participant
    preview = preview_participant(answered)
    trial = state(client, preview)["trials"][0]
    fetch_sound(client, preview, trial)
    assert post_answer(client, preview, answer_body(trial, "rating", 3)).status_code == 201
    assert b"".join(export_csv(answered)) == orm_file(answered)
    with_preview = b"".join(export_csv(answered, include_preview=True))
    assert with_preview == orm_file(answered, include_preview=True) != orm_file(answered)


def test_line_ends_are_rewritten_outside_quoted_cells_only():
    assert _crlf(b'1,a\n2,b\n', False) == (b'1,a\r\n2,b\r\n', False)
    assert _crlf(b'1,"x\ny"\n2,"say ""hi"""\n', False) == (b'1,"x\ny"\r\n2,"say ""hi"""\r\n', False)
    assert _crlf(b'1,"open\n', False) == (b'1,"open\n', True)
    assert _crlf(b'still\n",end\n', True) == (b'still\n",end\r\n', False)
