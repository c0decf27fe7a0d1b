"""Plain-record plumbing shared by the pure study modules (stats, screening, export).

Records are mappings (e.g. rows of ``QuerySet.values()``) or objects with attributes (model
instances, dataclasses); results are dataclasses that serialise to JSON through ``to_dict()``.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any


class StatsInputError(ValueError):
    """Bad records given to the study statistics: the caller's fault, so a ValueError."""


def field_of(record: Any, name: str, index: int, what: str) -> Any:
    """Field ``name`` of a mapping or attribute record, with an error that says which record."""
    if isinstance(record, Mapping):
        if name in record:
            return record[name]
    elif hasattr(record, name):
        return getattr(record, name)
    raise StatsInputError(f"{what} {index} has no '{name}' field: {record!r}")


class JsonMixin:
    """``to_dict()`` for result dataclasses: nested dataclasses become dicts, lists stay lists."""

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)
