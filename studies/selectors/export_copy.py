"""The responses export on PostgreSQL: the database writes the CSV (COPY (SELECT ...) TO STDOUT).

Same file as the ORM path (`export.export_rows` + `export.stream_csv`), byte for byte: the same
query (built by the ORM, so the joins and filters are the ORM path's), the same columns, formula
escaping done in SQL with the trigger set and plain-number rule of gan.csv_safety, the same text
for every type (True/False, ISO 8601 times as Python's isoformat() writes them, None and "" as an
empty unquoted cell) and CRLF line ends, in UTF-8. Tested against the ORM path on awkward values.
One deliberate difference: Python's plain-number rule also accepts non-ASCII digits ("-٣" stays),
the SQL one only 0-9, so such a cell is escaped here: the safe side.

Memory stays bounded: the export runs as one COPY per range of CHUNK_IDS response ids, inside one
REPEATABLE READ transaction so every range sees the same snapshot (a consistent file).
Measured by bench/studies_load.py against a bare COPY of the same query.
"""
from __future__ import annotations

import io
from collections.abc import Iterator

from django.db import connection, models, transaction
from django.db.models import F, Max, Min

from gan.csv_safety import ESCAPE_PREFIX, FORMULA_TRIGGERS

CHUNK_IDS = 20_000
# gan.csv_safety._PLAIN_NUMBER in PostgreSQL's regex dialect (ASCII digits only, see above).
_PLAIN_NUMBER_SQL = r"^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?$"
# PostgreSQL text cannot hold NUL, so that trigger cannot occur.
_TRIGGERS = sorted(FORMULA_TRIGGERS - {"\0"})
_FLAG_WHEN_SET = "participant__completed_at"   # exported as participant_complete: a set time is True


def _field(model, path: str) -> models.Field:
    """The model field a values() lookup path ends at."""
    *hops, last = path.split("__")
    for hop in hops:
        model = model._meta.get_field(hop).related_model
    field = model._meta.get_field(last)
    return field.target_field if field.is_relation else field


def _cell_sql(column: str, field: models.Field, lookup: str) -> str:
    """The SQL expression that writes one column as the ORM path's CSV cell."""
    if lookup == _FLAG_WHEN_SET:
        return f"CASE WHEN {column} IS NULL THEN 'False' ELSE 'True' END"
    if isinstance(field, models.BooleanField):
        return f"CASE WHEN {column} THEN 'True' WHEN NOT {column} THEN 'False' END"
    if isinstance(field, models.DateTimeField):
        # datetime.isoformat() of an aware UTC time: microseconds only when there are any
        utc = f"({column} AT TIME ZONE 'UTC')"
        return (f"to_char({utc}, 'YYYY-MM-DD\"T\"HH24:MI:SS') || CASE WHEN extract(microseconds FROM {utc})::bigint "
                f"%% 1000000 = 0 THEN '' ELSE to_char({utc}, '.US') END || '+00:00'")
    if isinstance(field, models.UUIDField):
        return f"{column}::text"
    if isinstance(field, (models.IntegerField, models.AutoField)):
        return column
    if isinstance(field, (models.CharField, models.TextField)):
        # NULLIF: COPY quotes an empty string (""); Python's csv writes it as an empty cell, like NULL
        return (f"NULLIF(CASE WHEN left({column}, 1) = ANY(%(triggers)s) AND {column} !~ %(plain)s "
                f"THEN %(prefix)s || {column} ELSE {column} END, '')")
    raise TypeError(f"no CSV rule for {type(field).__name__} ({lookup})")


def _crlf(data: bytes, quoted: bool) -> tuple[bytes, bool]:
    """COPY ends lines with LF, Python's csv (RFC 4180) with CRLF: rewrite the line ends that lie
    outside quoted cells (a newline inside a cell stays as the ORM path writes it). Returns the
    bytes and whether the chunk ends inside a quoted cell (COPY chunks end at a line end, so never,
    but the state is carried rather than assumed)."""
    if b'"' not in data and not quoted:
        return data.replace(b"\n", b"\r\n"), False
    parts = data.split(b'"')   # even parts lie outside quotes ("" inside a cell toggles twice)
    for index in range(0 if not quoted else 1, len(parts), 2):
        parts[index] = parts[index].replace(b"\n", b"\r\n")
    return b'"'.join(parts), quoted ^ (len(parts) % 2 == 0)


def copy_csv(responses, fields: list[str], header: list[str], *, bom: bool = False) -> Iterator[bytes]:
    """Yield the CSV of `responses` (a Response queryset) with `fields` as columns under `header`,
    written by PostgreSQL. Header and bom as `stream_csv` writes them."""
    from ..export import stream_csv
    yield from stream_csv(header, [], bom=bom)
    aliases = {f"c{index}": F(name) for index, name in enumerate(fields)}
    cells = ", ".join(_cell_sql(f"q.c{index}", _field(responses.model, name), name)
                      for index, name in enumerate(fields))
    id_alias = f"c{fields.index('id')}"
    values = {"triggers": _TRIGGERS, "plain": _PLAIN_NUMBER_SQL, "prefix": ESCAPE_PREFIX}
    with _snapshot():
        bounds = responses.aggregate(low=Min("id"), high=Max("id"))
        if bounds["low"] is None:
            return
        quoted = False
        with connection.cursor() as cursor:
            cells = cursor.mogrify(cells, values).decode()  # once; each range's SQL is then only joined
            for low in range(bounds["low"], bounds["high"] + 1, CHUNK_IDS):
                part = responses.filter(id__gte=low, id__lt=low + CHUNK_IDS).values(**aliases)
                inner, params = part.query.sql_with_params()
                select = cursor.mogrify(inner, params).decode()
                outer = f"SELECT {cells} FROM ({select}) q ORDER BY q.{id_alias}"
                buffer = io.BytesIO()
                cursor.cursor.copy_expert(f"COPY ({outer}) TO STDOUT WITH (FORMAT csv, ENCODING 'UTF8')", buffer)
                data, quoted = _crlf(buffer.getvalue(), quoted)
                del buffer
                if data:
                    yield data


class _snapshot:
    """One REPEATABLE READ, read-only transaction for the whole export when none is open (a caller's
    open transaction is its own snapshot already)."""

    def __enter__(self):
        self.atomic = None
        if not connection.in_atomic_block:
            self.atomic = transaction.atomic()
            self.atomic.__enter__()
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        return self

    def __exit__(self, *exc):
        if self.atomic is not None:
            return self.atomic.__exit__(*exc)
        return False
