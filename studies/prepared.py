"""The rater path's hot statements as PostgreSQL prepared statements: parsed and planned once per
database connection, then only executed.

psycopg2 sends every statement as text, so PostgreSQL parses and plans it again each time; for the
answer's read (a five-table statement) planning cost seven times its execution (0.29 ms of backend
CPU against 0.04 ms prepared, measured over 3,000 runs; docs/results/studies-load.md). psycopg2 has no
prepared statements of its own (psycopg 3 does), so this is the few lines that do it with SQL's own
PREPARE and EXECUTE. Off with STUDIES_PREPARED_STATEMENTS=false, e.g. behind a connection pooler in
transaction mode, which cannot keep a statement prepared on one server session for the next
transaction. SQLite runs the statement as it is.

A statement is written as for psycopg2 (`%(name)s` placeholders) and given a PostgreSQL type for each
placeholder; its prepared name is a hash of its text, so every distinct text is prepared once.
PREPARE outlives a rollback of the transaction it ran in, so a failed answer leaves nothing to redo.
"""
from __future__ import annotations

import hashlib
import re

from django.conf import settings
from django.db import connection

_PLACEHOLDER = re.compile(r"%\((\w+)\)s")
_forms: dict[str, tuple[str, str, tuple[str, ...]]] = {}   # statement text -> (name, $-numbered text, order)


def _prepared_form(sql: str) -> tuple[str, str, tuple[str, ...]]:
    form = _forms.get(sql)
    if form is None:
        if re.search(r"%(?!\(\w+\)s)", sql):
            raise ValueError("a prepared statement takes %(name)s placeholders only (no %s, no %%)")
        order: list[str] = []

        def number(match: re.Match) -> str:
            if match.group(1) not in order:
                order.append(match.group(1))
            return f"${order.index(match.group(1)) + 1}"

        body = _PLACEHOLDER.sub(number, sql)
        form = ("studies_" + hashlib.sha1(body.encode()).hexdigest()[:20], body, tuple(order))
        if len(_forms) > 256:  # statement texts are a handful of fixed shapes; never grow without bound
            _forms.clear()
        _forms[sql] = form
    return form


def execute(cursor, sql: str, params: dict, types: dict[str, str]) -> None:
    """cursor.execute(sql, params); on PostgreSQL through a statement prepared once per connection.
    `types` gives each placeholder's PostgreSQL type (a name it lacks is a KeyError: a bug)."""
    name, body, order = _prepared_form(sql)   # checks the placeholders on every backend
    if connection.vendor != "postgresql" or not settings.STUDIES_PREPARED_STATEMENTS:
        cursor.execute(sql, params)
        return
    raw = connection.connection
    # The set of names prepared on this very session: Django's connection object is per thread and
    # per alias; a reconnect gives a new raw connection and so an empty set.
    state = getattr(connection, "_studies_prepared", None)
    if state is None or state[0] is not raw:
        state = (raw, set())
        connection._studies_prepared = state
    if name not in state[1]:
        cursor.execute(f"PREPARE {name} ({', '.join(types[n] for n in order)}) AS {body}")
        state[1].add(name)
    cursor.execute(f"EXECUTE {name} ({', '.join(f'%({n})s' for n in order)})", params)
