"""evalsite.postgres_backend: a reused connection is checked by its socket (no round trip while the
server has said nothing), and one the server closed is noticed and replaced before the request uses it."""
import time

import psycopg2
import pytest
from django.db import connection
from django.db.backends.postgresql import base as django_base

pytestmark = [pytest.mark.django_db(transaction=True),
              pytest.mark.db_backend("postgresql", reason="the backend wraps Django's PostgreSQL one")]


def backend_pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def test_an_idle_live_connection_is_usable_without_a_round_trip(monkeypatch):
    backend_pid()  # connected and idle
    monkeypatch.setattr(django_base.DatabaseWrapper, "is_usable",
                        lambda self: pytest.fail("the SELECT 1 check ran on an idle live connection"))
    assert connection.is_usable() is True


def test_a_connection_the_server_closed_is_replaced_before_use():
    first = backend_pid()
    params = connection.get_connection_params()
    other = psycopg2.connect(**{k: v for k, v in params.items() if k in ("host", "port", "user", "password",
                                                                        "dbname", "database")})
    other.autocommit = True
    with other.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s)", [first])
    other.close()
    deadline = time.monotonic() + 5
    while connection.is_usable() and time.monotonic() < deadline:  # the server's goodbye reaches the socket
        time.sleep(0.05)
    assert connection.is_usable() is False
    # what Django does at the start of a request (CONN_HEALTH_CHECKS): check, close, reconnect on use
    connection.health_check_done = False
    connection.close_if_health_check_failed()
    assert connection.connection is None
    assert backend_pid() != first
