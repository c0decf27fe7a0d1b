"""Values as a raw statement of the studies app passes and reads them, the same on both backends:
SQLite keeps datetimes as the text Django writes (naive UTC) and uuids as their hex; PostgreSQL
takes and gives the Python objects."""
from __future__ import annotations

import uuid
from datetime import datetime
from datetime import timezone as dt_timezone

from django.db import connection
from django.utils import timezone
from django.utils.dateparse import parse_datetime


def db_time(value: datetime | None):
    """A datetime as a raw statement needs it (SQLite compares the text Django stores)."""
    return None if value is None else connection.ops.adapt_datetimefield_value(value)


def db_uuid(value: uuid.UUID):
    """A uuid as its column holds it (a uuid on PostgreSQL, its hex on SQLite)."""
    return value if connection.features.has_native_uuid_field else value.hex


def read_time(value) -> datetime | None:
    """A datetime a raw statement returned, aware in UTC (SQLite hands them back naive or as text)."""
    if isinstance(value, str):
        value = parse_datetime(value)
    if value is not None and timezone.is_naive(value):
        value = value.replace(tzinfo=dt_timezone.utc)
    return value
