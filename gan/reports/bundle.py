"""A report as a folder a paper or a repository can hold: Markdown, CSV, LaTeX, the ladder charts with
their error bars, and the images the tables point at (Fig. 2 grids, Table 3 volume tables)."""
from __future__ import annotations

import shutil
from pathlib import Path

from .chart import ladder_chart
from .formats import to_csv, to_latex, to_markdown
from .tables import Report


def write_bundle(report: Report, out_dir: Path, media_root: Path, header: list[str] | None = None) -> list[Path]:
    """Write the report's files under out_dir; image paths in the Markdown point at the copies."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    images = out_dir / "images"
    copies: dict[str, str] = {}
    for table in report.tables:
        for row in table.rows:
            for kind, rel in row.images.items():
                source = Path(media_root) / rel
                if source.is_file() and rel not in copies:
                    target = images / f"{row.key.replace('/', '-')}-{kind}.png"
                    target.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copyfile(source, target)
                    copies[rel] = f"images/{target.name}"
                    written.append(target)
    markdown = to_markdown(report)
    for rel, copy in copies.items():
        markdown = markdown.replace(f"`{rel}`", f"![{copy}]({copy})")
    figures = []
    for table in report.tables:
        try:
            chart = ladder_chart(table)
        except ValueError:   # no scores yet
            continue
        path = out_dir / f"table{table.number}.png"
        path.write_bytes(chart)
        written.append(path)
        figures.append(f"![Table {table.number}](table{table.number}.png)")
    grids = [f"**{row.label}**\n\n![{row.label}]({copies[row.images['class_grid']]})"
             for table in report.tables for row in table.rows
             if row.images.get("class_grid") in copies]
    body = (header or []) + [markdown, "## Charts", "", *figures, "",
                             "## Fig. 2: one image per test sound, by class (first seed of each row)", "",
                             *dict.fromkeys(grids), ""]
    for name, text in (("results.md", "\n".join(body)), ("results.csv", to_csv(report)),
                       ("results.tex", to_latex(report))):
        path = out_dir / name
        path.write_text(text)
        written.append(path)
    return written
