"""CSV cells a spreadsheet will not run as formulas: the one escaping helper of the project.

Every CSV the platform writes goes through `escape_csv_cell` (studies' streaming exports, the
results report, Table 1). It is pure (no Django), so the studies export imports it without loading
anything of the GAN side.

Formula escaping is hand-written because no well-kept library does it (Python's csv module only
quotes; quoting does not stop a spreadsheet from evaluating "=..." once it has unquoted it).
"""
from __future__ import annotations

import csv
import io
import math
import numbers
import re
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

# OWASP "CSV Injection": a cell must not begin with = + - @ tab (0x09) or carriage return (0x0D).
# Also covered, as defence in depth: line feed and NUL (OWASP ASVS 1.2.10 lists NUL), and the
# full-width forms of = + - @, which some CJK spreadsheet locales normalise to the ASCII ones.
FORMULA_TRIGGERS = frozenset("=+-@\t\r\n\0\uff1d\uff0b\uff0d\uff20")
# A string that is a plain decimal number ("-3", "+2.5", "-1e-3") is data, not a formula: a
# spreadsheet reads it as the number, so it is kept as it is (OWASP: keep real negative numbers).
_PLAIN_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?\Z")
# The neutraliser OWASP recommends: a leading apostrophe makes Excel, LibreOffice and Google
# Sheets show the cell as text (the apostrophe itself is hidden in Excel).
ESCAPE_PREFIX = "'"


def escape_csv_cell(value: Any) -> Any:
    """Return ``value`` made safe for a spreadsheet cell.

    Finite ints, floats and Decimals are returned unchanged (they are written as numbers; a
    negative number is not a formula). None becomes "". Anything else is turned into text, and text
    that begins with a formula trigger gets a leading apostrophe unless it is a plain number.
    """
    kind = type(value)
    if kind is str:  # fast paths first: this runs once per cell of million-row exports
        if value and value[0] in FORMULA_TRIGGERS and not _PLAIN_NUMBER.match(value):
            return ESCAPE_PREFIX + value
        return value
    if kind is int:
        return value
    if value is None:
        return ""
    if isinstance(value, Decimal):  # Decimal is not a numbers.Real
        if value.is_finite():
            return value
    elif isinstance(value, numbers.Real) and not isinstance(value, bool):
        if not isinstance(value, float) or math.isfinite(value):
            return value
    text = value if isinstance(value, str) else str(value)
    if text and text[0] in FORMULA_TRIGGERS and not _PLAIN_NUMBER.match(text):
        return ESCAPE_PREFIX + text
    return text


def csv_text(rows: Iterable[Iterable], *, lineterminator: str = "\r\n") -> str:
    """A small CSV document in memory, every cell escaped (header included)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator=lineterminator)
    for row in rows:
        writer.writerow([escape_csv_cell(value) for value in row])
    return out.getvalue()
