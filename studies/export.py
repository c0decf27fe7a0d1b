"""CSV export helpers for the studies (pure part: no Django import).

- ``escape_csv_cell``: neutralises cells a spreadsheet would run as a formula (CSV injection).
- ``stream_csv``: a generator of encoded CSV lines in constant memory, for Django's
  ``StreamingHttpResponse`` (the pseudo-buffer pattern from Django's "Outputting CSV" how-to).
- ``table_to_csv_rows``: the Table 5 / Table 6 results as (header, rows) for ``stream_csv``.

Formula escaping lives in gan/csv_safety.py, shared with every other CSV the platform writes.
"""
from __future__ import annotations

import csv
import dataclasses
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from gan.csv_safety import ESCAPE_PREFIX, FORMULA_TRIGGERS, escape_csv_cell  # noqa: F401 (the project's one escaper)
from studies.pairwise import PairRow, Strength
from studies.realism import RealismRow, RealShares
from studies.stats import AnswerShares, ConditionSummary, PairwiseComparison


class _Echo:
    """File-like object whose write() hands back what it was given (Django's CSV streaming idiom)."""

    def write(self, value: str) -> str:
        return value


def stream_csv(header: Sequence, rows: Iterable, *, escape: bool = True, lines_per_chunk: int = 1,
               encoding: str = "utf-8", bom: bool = False) -> Iterator[bytes]:
    """Yield the CSV (header line first) as encoded byte chunks, holding one chunk at a time.

    rows: sequences in header order, or mappings keyed by the header's names (e.g. rows of
    ``QuerySet.values_list()`` / ``.values()``; pass ``.iterator()`` so the database side streams
    too). lines_per_chunk > 1 joins lines per yielded chunk (fewer writes to the socket for big
    exports). bom=True starts the file with U+FEFF so Excel detects UTF-8.
    """
    header = list(header)
    if not header:
        raise ValueError("stream_csv needs a non-empty header")
    if isinstance(lines_per_chunk, bool) or not isinstance(lines_per_chunk, int) or lines_per_chunk < 1:
        raise ValueError(f"lines_per_chunk must be a whole number >= 1, got {lines_per_chunk!r}")
    "".encode(encoding)  # an unknown encoding fails here, before the response starts
    width = len(header)
    writer = csv.writer(_Echo())
    cell = escape_csv_cell if escape else (lambda v: "" if v is None else v)
    # The header goes out on its own at once, so the download starts before the first row is read.
    yield (("\ufeff" if bom else "") + writer.writerow([cell(name) for name in header])).encode(encoding)
    pending = []
    for number, row in enumerate(rows, start=1):
        if isinstance(row, Mapping):
            try:
                row = [row[name] for name in header]
            except KeyError as missing:
                raise ValueError(f"CSV row {number} has no value for column {missing}") from None
        elif isinstance(row, (str, bytes)) or len(row) != width:
            raise ValueError(f"CSV row {number} has {len(row)} cells but the header has {width}: {row!r}"[:300])
        pending.append(writer.writerow([cell(value) for value in row]))
        if len(pending) >= lines_per_chunk:
            yield "".join(pending).encode(encoding)
            pending = []
    if pending:
        yield "".join(pending).encode(encoding)


# ------------------------------------------------------------------ results tables -> rows
_LIST_SECTIONS = {"table5": ("conditions", "pairwise"), "table6": ("overall", "per_class"),
                  "realism": ("rows", "real"), "pairwise": ("strengths", "pairs")}
_SECTION_FIELDS = {  # the header even when a section has no rows (one condition: no pairs)
    section: [f.name for f in dataclasses.fields(row_type)]
    for section, row_type in (("conditions", ConditionSummary), ("pairwise", PairwiseComparison),
                              ("overall", AnswerShares), ("per_class", AnswerShares), ("rows", RealismRow),
                              ("real", RealShares), ("strengths", Strength), ("pairs", PairRow))}
_SUMMARY_SKIP = {kind: set(sections) for kind, sections in _LIST_SECTIONS.items()}
LONG_HEADER = ["section", "row", "metric", "value"]


def _as_dict(table: Any) -> dict:
    if hasattr(table, "to_dict"):
        table = table.to_dict()
    if not isinstance(table, Mapping) or table.get("kind") not in _LIST_SECTIONS:
        raise ValueError("table_to_csv_rows expects a Table5Result / Table6Result / RealismResult / PairwiseResult "
                         f"or its to_dict(); got {type(table).__name__} without kind 'table5' or 'table6' (or 'realism', "
                         "'pairwise')")
    return dict(table)


def _section_rows(table: dict, section: str) -> list[dict]:
    rows = table[section]
    return [rows] if isinstance(rows, Mapping) else list(rows)


def _row_label(row: Mapping) -> str:
    if "condition_a" in row:
        return f"{row['condition_a']} vs {row['condition_b']}"
    return str(row.get("condition", row.get("scope", "")))


def _flatten(prefix: str, value: Any) -> Iterator[tuple[str, Any]]:
    """Nested summary values as (dotted.name, scalar); lists of exclusions get one line each."""
    if isinstance(value, Mapping):
        for key, inner in value.items():
            yield from _flatten(f"{prefix}.{key}" if prefix else str(key), inner)
    elif isinstance(value, (list, tuple)):
        for index, inner in enumerate(value):
            label = inner.get("rater", index) if isinstance(inner, Mapping) else index
            yield from _flatten(f"{prefix}.{label}", inner)
    else:
        yield prefix, value


def _summary(table: dict) -> list[tuple[str, Any]]:
    skip = _SUMMARY_SKIP[table["kind"]]
    return [pair for key, value in table.items() if key not in skip for pair in _flatten(key, value)]


def table_to_csv_rows(table: Any, section: str | None = None) -> tuple[list[str], list[list]]:
    """(header, rows) of a Table 5 / Table 6 result, ready for ``stream_csv(*...)``.

    section=None: every number in long format, columns ``section, row, metric, value``.
    section="conditions" | "pairwise" (Table 5), "overall" | "per_class" (Table 6), "rows" | "real"
    (realism), "strengths" | "pairs" (pairwise): that part wide,
    one row per condition / comparison / class, columns named as in ``to_dict()``.
    section="summary": the scalar results (alpha, totals, methods, screening) as metric, value.
    """
    table = _as_dict(table)
    kind = table["kind"]
    valid = (*_LIST_SECTIONS[kind], "summary")
    if section is not None and section not in valid:
        raise ValueError(f"section {section!r} is not one of {valid} for {kind}")
    if section == "summary":
        return ["metric", "value"], [[name, value] for name, value in _summary(table)]
    if section is not None:
        rows = _section_rows(table, section)
        header = _SECTION_FIELDS[section]
        return header, [[row[name] for name in header] for row in rows]
    long_rows = []
    for part in _LIST_SECTIONS[kind]:
        for row in _section_rows(table, part):
            label = _row_label(row)
            long_rows.extend([part, label, name, value] for name, value in row.items())
    long_rows.extend(["summary", "", name, value] for name, value in _summary(table))
    return list(LONG_HEADER), long_rows
