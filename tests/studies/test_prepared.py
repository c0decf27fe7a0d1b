"""studies.prepared: the rater path's statements prepared once per PostgreSQL connection, giving the
same rows as the plain statement, surviving a rollback and a reconnect; plain on SQLite or when off."""
import pytest
from django.db import connection, transaction

from studies import prepared
from studies.services import build_rating_study, open_study

from .helpers import answer_body, fetch_sound, join, post_answer, state

pytestmark = pytest.mark.django_db

SQL = "SELECT %(a)s + 1 AS plus, %(b)s || '!' AS shout, %(a)s * 2 AS twice"


def fresh_sql(tag: str) -> str:
    """A statement text of its own (so its own prepared name): the test connection outlives a test."""
    return f"{SQL} -- {tag}"
TYPES = {"a": "integer", "b": "text"}


def run(sql=SQL, params=None, types=TYPES):
    with connection.cursor() as cursor:
        prepared.execute(cursor, sql, params or {"a": 20, "b": "hi"}, types)
        return cursor.fetchall()


def deallocate_all():
    """Forget every statement prepared on this test connection (it outlives a test)."""
    with connection.cursor() as cursor:
        cursor.execute("DEALLOCATE ALL")
    connection._studies_prepared = None


def prepared_names() -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT name FROM pg_prepared_statements")
        return {row[0] for row in cursor.fetchall()}


def test_same_rows_as_the_plain_statement_on_every_backend():
    assert run() == [(21, "hi!", 40)]
    assert run(params={"a": -1, "b": "it's"}) == [(0, "it's!", -2)]   # a quote in a value stays a value


def test_only_named_placeholders():
    with pytest.raises(ValueError, match="placeholders only"):
        run("SELECT %s", {"a": 1})
    with pytest.raises(ValueError, match="placeholders only"):
        run("SELECT 'x' LIKE '%%' AND %(a)s = 1", {"a": 1})


@pytest.mark.db_backend("postgresql", reason="PREPARE is PostgreSQL's")
def test_prepared_once_per_connection_and_kept_through_a_rollback():
    sql = fresh_sql("rollback")
    name = prepared._prepared_form(sql)[0]
    assert name not in prepared_names()
    with pytest.raises(RuntimeError):
        with transaction.atomic():
            assert run(sql) == [(21, "hi!", 40)]
            raise RuntimeError("roll back the transaction the statement was prepared in")
    assert name in prepared_names()
    assert run(sql, {"a": 1, "b": "x"}) == [(2, "x!", 2)]
    assert [n for n in prepared_names() if n == name] == [name]


@pytest.mark.django_db(transaction=True)   # no test transaction around it, so the connection can close
@pytest.mark.db_backend("postgresql", reason="PREPARE is PostgreSQL's")
def test_a_new_connection_prepares_again():
    sql = fresh_sql("reconnect")
    run(sql)
    connection.close()
    assert prepared._prepared_form(sql)[0] not in prepared_names()
    assert run(sql) == [(21, "hi!", 40)]
    assert prepared._prepared_form(sql)[0] in prepared_names()


@pytest.mark.db_backend("postgresql", reason="PREPARE is PostgreSQL's")
def test_off_runs_the_plain_statement(settings):
    settings.STUDIES_PREPARED_STATEMENTS = False
    sql = fresh_sql("off")
    assert run(sql) == [(21, "hi!", 40)]
    assert prepared._prepared_form(sql)[0] not in prepared_names()


@pytest.mark.db_backend("postgresql", reason="PREPARE is PostgreSQL's")
@pytest.mark.parametrize("enabled", [True, False])
def test_a_rater_answers_the_same_with_prepared_statements_on_or_off(client, world, settings, enabled):
    settings.STUDIES_PREPARED_STATEMENTS = enabled
    deallocate_all()
    study = open_study(build_rating_study("prepared", world["checkpoints"], target_votes=2, catch_trials=0,
                                          practice_trials=0))
    rater = join(client, study)
    trials = state(client, rater)["trials"]
    for index, trial in enumerate(trials[:3]):
        fetch_sound(client, rater, trial)
        body = answer_body(trial, "rating", 1 + index)
        assert post_answer(client, rater, body).status_code == 201
        assert post_answer(client, rater, body).status_code == 200              # a retry: stored once
        assert post_answer(client, rater, {**body, "rating": (1 + index) % 5 + 1}).status_code == 409
    assert state(client, rater)["progress"]["answered"] == 3
    assert rater.responses.count() == 3
    # enabled: the next call's plan, the answer's read and its store (with and without renewal) each once
    assert len({n for n in prepared_names() if n.startswith("studies_")}) >= (3 if enabled else 0)
    assert bool(prepared_names()) == enabled
