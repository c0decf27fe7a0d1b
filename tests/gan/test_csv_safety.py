"""One CSV escaper for every CSV the platform writes: the results report, Table 1 and the studies'
exports agree on every cell (three copies used to disagree, and Table 1 escaped nothing)."""
import csv
import io

import pytest

from gan import csv_safety
from gan.csv_safety import csv_text, escape_csv_cell


def test_studies_export_uses_the_same_function():
    import studies.export

    assert studies.export.escape_csv_cell is csv_safety.escape_csv_cell
    assert studies.export.FORMULA_TRIGGERS is csv_safety.FORMULA_TRIGGERS


@pytest.mark.parametrize("value, written", [
    (-3, "-3"), (-2.5, "-2.5"), ("-3", "-3"), ("=1+1", "'=1+1"), ("-x", "'-x"), ("\n=1", "'\n=1"),
    ("\uff1dSUM(A1)", "'\uff1dSUM(A1)"), (None, ""), ("dog", "dog"), ("@cmd", "'@cmd"),
])
def test_csv_text_escapes_formulas_and_keeps_numbers(value, written):
    (row,) = list(csv.reader(io.StringIO(csv_text([[value]]), newline="")))
    assert row == [written]


def test_no_other_module_carries_its_own_formula_escaping():
    """The escaper exists once: no module of the project defines its own trigger list."""
    from pathlib import Path

    root = Path(csv_safety.__file__).resolve().parent.parent
    own = []
    for package in ("gan", "studies", "jobs", "demo", "evalsite"):
        for path in (root / package).rglob("*.py") if (root / package).is_dir() else ():
            text = path.read_text()
            if path.name != "csv_safety.py" and ("FORMULA_PREFIXES" in text or "FORMULA_TRIGGERS = " in text):
                own.append(str(path.relative_to(root)))
    assert own == []
    assert escape_csv_cell("=HYPERLINK(1)") == "'=HYPERLINK(1)"


@pytest.mark.django_db
def test_table1_csv_escapes_class_names_taken_from_folders():
    from gan.models import Dataset, Pair, PairStatus
    from gan.selectors.datasets import table1_csv

    dataset = Dataset.objects.create(name="inj", source="videos", root="datasets/inj")
    Pair.objects.create(dataset=dataset, sound="s.flac", image="i.png", label="=HYPERLINK(\"x\")",
                        status=PairStatus.KEPT)
    rows = list(csv.reader(io.StringIO(table1_csv(dataset))))
    assert rows[0] == ["class", "pairs", "kept", "discarded", "pending", "discard_rate"]
    assert rows[1][:3] == ["'=HYPERLINK(\"x\")", "1", "1"] and rows[2][0] == "total"
