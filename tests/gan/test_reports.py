"""Reports: Tables 1-4 from stored rows; every number with n, classifier, convention, checkpoint;
CSV / Markdown / LaTeX / JSON; the ablation chart."""
import csv
import io
import json

import pytest

from gan.reports import dataset_report, ladder_chart, suite_report
from gan.reports.chart import _interval
from gan.reports.formats import latex_escape, to_csv, to_latex, to_markdown
from gan.reports.tables import Score
from tests.gan.report_rows import make_suite_rows

pytestmark = pytest.mark.django_db


@pytest.fixture
def rows():
    return make_suite_rows()


def test_suite_report_places_each_run_in_its_tables(rows):
    dataset, suite = rows
    report = suite_report(suite)
    assert report.dataset == "pets" and report.suite_job_id == suite.pk and report.preset == "quick"
    table2, table4 = report.table("2"), report.table("4")
    assert [r.label for r in table2.rows] == ["Fbank", "MFCCs"]  # the paper's order
    assert [r.label for r in table4.rows] == ["(a) Upper bound (real images)", "(f) + Projection Discriminator",
                                              "(g) + Auxiliary Classifier"]
    g_mfcc = table4.rows[2]
    assert g_mfcc.scores["inception_score"].value == 1.5 and g_mfcc.scores["inception_score"].n == 20
    assert g_mfcc.checkpoint_step == 300 and g_mfcc.images["class_grid"] == "generated/g/mfcc/grid.png"
    assert table2.conventions() == [
        "Inception Score: domain-cnn (pets); 10 splits, class-ordered, no shuffle (paper); mean ± population std over splits",
        "Class consistency: domain-cnn (pets); top-1 class == class of the sound"]
    assert [r.key for r in report.volume_rows] == ["g/fbank", "g/mfcc", "f/mfcc"]
    # 10 class-ordered splits of 3 classes: the report warns that IS cannot rise above its floor
    assert "each split holds only one or two classes" in table2.notes[0]
    assert report.notes == ["SoundNet weights missing: Table 4 uses mfcc"]
    # Table 1: kept pairs per split, discarded apart
    assert report.table1.counts["cat"] == {"discarded": 1, "train": 2, "test": 1}
    assert report.table1.totals() == {"train": 8, "test": 3, "discarded": 1}


def test_dataset_report_uses_the_newest_scored_final_checkpoints(rows):
    dataset, _ = rows
    report = dataset_report(dataset)
    assert report.suite_job_id is None
    assert [r.key for r in report.table("2").rows] == ["g/fbank", "g/mfcc"]
    assert [r.key for r in report.table("4").rows] == ["real", "f/mfcc", "g/mfcc"]  # most variants: mfcc
    assert report.table("4").rows[1].images["volume_table"] == "generated/f/mfcc/volumes.png"


def test_csv_has_one_line_per_number_with_its_provenance_and_no_formulas(rows):
    _, suite = rows
    text = to_csv(suite_report(suite))
    lines = list(csv.DictReader(io.StringIO(text)))
    is_g = [r for r in lines if r["table"] == "4" and r["row"] == "g/mfcc" and r["metric"] == "inception_score"]
    assert len(is_g) == 1
    line = is_g[0]
    assert float(line["value"]) == 1.5 and float(line["std"]) == 0.2 and line["n"] == "20"
    assert line["classifier"] == "domain-cnn (pets)" and line["order"] == "paper" and line["splits"] == "10"
    assert line["checkpoint_step"] == "300" and line["checkpoint_path"].endswith("ckpt.pt")
    per_class = [r for r in lines if r["row"] == "f/mfcc" and r["class"]]
    assert {r["class"] for r in per_class} == {"cat", "dog", "'=cmd"}  # escaped, not a formula
    assert all(float(r["value"]) == 0.25 for r in per_class)
    assert {r["metric"] for r in lines if r["table"] == "1"} == {"pairs_train", "pairs_test", "pairs_discarded"}
    assert sum(1 for r in lines if r["table"] == "3") == 3


def test_markdown_and_latex_state_n_classifier_convention_and_source(rows):
    _, suite = rows
    report = suite_report(suite)
    markdown = to_markdown(report)
    assert "| (g) + Auxiliary Classifier | 1.50 ± 0.20 | 20 | 40.0% | 20 | checkpoint #" in markdown
    assert "10 splits, class-ordered, no shuffle (paper)" in markdown
    assert "| (a) Upper bound (real images) | 2.90 ± 0.05 | 3 | 100.0% | 3 | real images |" in markdown
    assert "## Class consistency per class" in markdown and "25% (n=4)" in markdown
    latex = to_latex(report)
    assert "$1.50 \\pm 0.20$ & 20 & 40.0\\% & 20" in latex
    assert "domain-cnn (pets); 10 splits" in latex and "\\label{tab:table4}" in latex
    assert latex_escape("a_b 50% {x}") == "a\\_b 50\\% \\{x\\}"
    data = json.loads(json.dumps(report.as_dict()))
    table4 = next(t for t in data["tables"] if t["number"] == "4")
    assert table4["rows"][0]["scores"]["inception_score"]["n"] == 3
    assert table4["conventions"][0].startswith("Inception Score: domain-cnn (pets)")


def test_ladder_chart_draws_a_png_with_error_bars(rows):
    _, suite = rows
    png = ladder_chart(suite_report(suite).table("4"))
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000
    # IS bars are ± std over splits; class consistency bars are the 95% Wilson interval
    assert _interval(Score("inception_score", 2.0, 0.3, 100, "x")) == (0.3, 0.3)
    below, above = _interval(Score("class_consistency", 0.5, None, 100, "x"))
    assert below == pytest.approx(0.0962, abs=1e-3) and above == pytest.approx(0.0962, abs=1e-3)
    below, above = _interval(Score("class_consistency", 1.0, None, 20, "x"))
    assert above == 0.0 and below == pytest.approx(1 - 0.8389, abs=1e-3)


def test_a_suite_without_scores_has_no_chart_yet(rows):
    from gan.models import Evaluation

    _, suite = rows
    Evaluation.objects.all().delete()
    with pytest.raises(ValueError, match="no scores"):
        ladder_chart(suite_report(suite).table("4"))
