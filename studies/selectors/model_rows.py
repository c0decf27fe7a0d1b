"""Model instances from the columns of one raw statement, as the ORM would build them.

The rater API reads one rater and their study on most calls (a rater who thinks longer than the
process cache keeps them, STUDIES_RATER_CACHE_SECONDS, is read again on every call). Through the
ORM that read cost about 1 ms of CPU on PostgreSQL (queryset, lookup and join building, SQL
compilation), against under 0.1 ms for the statement itself (bench/rater_cpu.py). `ModelRows`
keeps what the ORM works out per query instead: the column list and each field's converters
(the backend's and the field's own, e.g. SQLite's text datetimes and booleans, JSON), and builds
the instance with `Model.from_db`, so the result is the instance the ORM would have returned
(tests/studies/selectors/test_model_rows.py compares every field).
"""
from __future__ import annotations

from django.db import connection


class ModelRows:
    """Reads a model's concrete fields, in their declared order, from a row of a raw statement."""

    def __init__(self, model):
        self.model = model
        self.fields = list(model._meta.concrete_fields)
        self.attnames = [field.attname for field in self.fields]
        self._converters: dict[tuple[str, str], list] = {}

    def __len__(self) -> int:
        return len(self.fields)

    def columns(self, alias: str) -> str:
        """The SELECT list for the model's table under `alias`, in field order."""
        quote = connection.ops.quote_name
        return ", ".join(f"{alias}.{quote(field.column)}" for field in self.fields)

    def _converters_here(self) -> list:
        key = (connection.alias, connection.vendor)
        found = self._converters.get(key)
        if found is None:
            found = []
            for index, field in enumerate(self.fields):
                column = field.get_col(self.model._meta.db_table)
                # what SQLCompiler.get_converters collects for the column, in the same order
                converters = connection.ops.get_db_converters(column) + column.get_db_converters(connection)
                if converters:
                    found.append((index, converters, column))
            self._converters[key] = found
        return found

    def build(self, values):
        """The model instance for `values` (the columns `columns()` selected, in that order)."""
        values = list(values)
        for index, converters, column in self._converters_here():
            value = values[index]
            for converter in converters:
                value = converter(value, column, connection)
            values[index] = value
        return self.model.from_db(connection.alias, self.attnames, values)
