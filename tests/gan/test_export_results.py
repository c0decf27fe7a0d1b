"""export_results: a suite's report as a folder with Markdown, CSV, LaTeX, charts and its images."""
import pytest
from django.core.management import CommandError, call_command
from PIL import Image

from tests.gan.report_rows import make_suite_rows

pytestmark = pytest.mark.django_db


def test_export_writes_tables_charts_and_the_images_the_tables_point_at(media_root, tmp_path):
    _, suite = make_suite_rows()
    for key in ("g/fbank", "g/mfcc", "f/mfcc"):
        for name in ("grid", "volumes"):
            path = media_root / f"generated/{key}/{name}.png"
            path.parent.mkdir(parents=True, exist_ok=True)
            Image.new("RGB", (8, 8)).save(path)
    out = tmp_path / "results"
    call_command("export_results", suite.pk, "--out", str(out), "--command", "run_paper_suite pets")
    markdown = (out / "results.md").read_text()
    assert markdown.startswith(f"Suite job #{suite.pk} (succeeded), preset `quick`")
    assert "Made by `run_paper_suite pets`." in markdown and "## Table 4." in markdown
    assert "![images/g-mfcc-volume_table.png](images/g-mfcc-volume_table.png)" in markdown
    assert (out / "images" / "f-mfcc-class_grid.png").is_file() and (out / "table4.png").is_file()
    assert Image.open(out / "table4.png").format == "PNG"
    assert "'=cmd" in (out / "results.csv").read_text()          # escaped, as every CSV of the project
    assert "\\begin{table}" in (out / "results.tex").read_text()
    with pytest.raises(CommandError, match="no such job"):
        call_command("export_results", 99999, "--out", str(out))
