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


# Typed records callers may use instead of dicts (any object with these attributes works).
@dataclasses.dataclass(frozen=True)
class Vote:
    """One Table 5 rating: ``score`` is a whole number 1-5."""

    rater: Any
    condition: Any
    item: Any
    score: int


@dataclasses.dataclass(frozen=True)
class PairChoice:
    """One Table 6 record: which picture a rater chose, as ``answer``: "positive" (from the heard
    sound), "negative" (from another class's sound) or "neither"."""

    rater: Any
    item: Any
    sound_class: Any
    answer: str


@dataclasses.dataclass(frozen=True)
class CatchResult:
    """One catch trial of one rater: did they give the known right answer?"""

    rater: Any
    passed: bool
