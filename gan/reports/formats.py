"""A report as CSV (one line per number, long format), Markdown and LaTeX. Pure functions.

Every number travels with its n, classifier, split convention and the checkpoint it came from: in the
CSV as columns, in Markdown and LaTeX as columns (n, checkpoint) plus a note under each table naming
the classifier and split convention.
"""
from __future__ import annotations

from ..csv_safety import csv_text
from .tables import METRIC_TITLES, CountTable, Report, Row, Table

CSV_HEADER = ["dataset", "suite_job", "table", "row", "label", "metric", "value", "std", "n", "classifier",
              "order", "splits", "order_seed", "variant", "feature", "run_id", "checkpoint_id",
              "checkpoint_step", "checkpoint_path", "evaluation_id", "class", "class_n"]


def csv_rows(report: Report):
    yield CSV_HEADER
    for name in report.table1.classes:
        for column in report.table1.columns:
            yield [report.dataset, report.suite_job_id, "1", name, name, f"pairs_{column}",
                   report.table1.counts[name].get(column, 0)] + [""] * (len(CSV_HEADER) - 7)
    for table in report.tables:
        for row in table.rows:
            for metric in table.metrics:
                score = row.scores.get(metric)
                if score is None:
                    continue
                base = [report.dataset, report.suite_job_id, table.number, row.key, row.label, metric,
                        score.value, score.std, score.n, score.classifier, score.order, score.splits,
                        score.order_seed, row.variant, row.feature, row.run_id, row.checkpoint_id,
                        row.checkpoint_step, row.checkpoint_path, score.evaluation_id]
                yield base + ["", ""]
                for name, entry in score.per_class.items():
                    if entry.get("share") is not None:
                        yield base[:6] + [entry["share"], None, entry["n"]] + base[9:] + [name, entry["n"]]
    for row in report.volume_rows:
        yield [report.dataset, report.suite_job_id, "3", row.key, row.label, "volume_table_image",
               "", "", "", "", "", "", "", row.variant, row.feature, row.run_id, row.checkpoint_id,
               row.checkpoint_step, row.images["volume_table"], "", "", ""]


def to_csv(report: Report) -> str:
    """Cells are escaped (a class name must not run as a spreadsheet formula); numbers stay numbers."""
    return csv_text(csv_rows(report))


def _md_escape(text: str) -> str:
    return str(text).replace("|", "\\|")


def _checkpoint_text(row: Row) -> str:
    return row.source()


def to_markdown(report: Report) -> str:
    out = [f"# Results: {report.dataset}"
           + (f" (suite #{report.suite_job_id}, {report.preset} preset)" if report.suite_job_id else ""), ""]
    for note in report.notes:
        out.append(f"> {note}")
    out += ["", f"## {CountTable.TITLE}", "", "| class | " + " | ".join(report.table1.columns) + " |",
            "|---" * (len(report.table1.columns) + 1) + "|"]
    for name in report.table1.classes:
        out.append(f"| {_md_escape(name)} | "
                   + " | ".join(str(report.table1.counts[name].get(c, 0)) for c in report.table1.columns) + " |")
    totals = report.table1.totals()
    out.append("| **total** | " + " | ".join(str(totals[c]) for c in report.table1.columns) + " |")
    for table in report.tables:
        out += ["", f"## Table {table.number}. {table.title}", ""]
        out += _markdown_table(table)
    consistency_rows = [r for t in report.tables for r in t.rows if "class_consistency" in r.scores]
    if consistency_rows:
        out += ["", "## Class consistency per class", "",
                "| row | " + " | ".join(_md_escape(c) for c in report.class_names) + " |",
                "|---" * (len(report.class_names) + 1) + "|"]
        seen = set()
        for row in consistency_rows:
            if row.key in seen:
                continue
            seen.add(row.key)
            per_class = row.scores["class_consistency"].per_class
            out.append(f"| {_md_escape(row.label)} | " + " | ".join(
                f"{100 * per_class[c]['share']:.0f}% (n={per_class[c]['n']})"
                if per_class.get(c, {}).get("share") is not None else "-" for c in report.class_names) + " |")
    if report.volume_rows:
        out += ["", "## Table 3. Generated images at volumes 0.5 / 1 / 2 / 3", ""]
        out += [f"- {_md_escape(r.label)} ({r.source()}): `{r.images['volume_table']}`" for r in report.volume_rows]
    volume_rows = [r for t in report.tables for r in t.rows if r.volume]
    if volume_rows:
        out += ["", "## How much the image changes with the volume", "",
                "Mean absolute pixel change from the image at volume x1 (same sound, same z), mean over seeds "
                "[95% t-interval]; Spearman rho between |log volume| and the change.", "",
                "| row | " + " | ".join(f"x{v}" for v in volume_rows[0].volume["per_volume"]) + " | rho | seeds |",
                "|---" * (len(volume_rows[0].volume["per_volume"]) + 3) + "|"]
        seen = set()
        for row in volume_rows:
            if row.key in seen:
                continue
            seen.add(row.key)
            volume = row.volume
            cells = [_interval_text(100 * v["mean"], v["ci"] and [100 * x for x in v["ci"]], "%")
                     for v in volume["per_volume"].values()]
            out.append(f"| {_md_escape(row.label)} | " + " | ".join(cells) + " | "
                       + _interval_text(volume["spearman_rho"], volume["ci"], "") + f" | {volume['seeds']} |")
    timed = list({r.key: r for t in report.tables for r in t.rows if any(s.get("elapsed_s") for s in r.seeds)}.values())
    if timed:
        out += ["", "## Training per row", "",
                "Iterations run, the iteration validation picked and the training time of each seed "
                "(status: converged = validation stopped improving; cap = stopped at the iteration cap).", "",
                "| row | seed | status | iterations | picked | minutes |", "|---|---|---|---|---|---|"]
        for row in timed:
            for seed in row.seeds:
                minutes = f"{seed['elapsed_s'] / 60:.1f}" if seed.get("elapsed_s") else "-"
                out.append(f"| {_md_escape(row.label)} | {seed['seed']} | {seed['status']} | "
                           f"{seed.get('iterations') or '-'} | {seed.get('step') or '-'} | {minutes} |")
    if report.verdicts:
        out += ["", "## Verdicts on the paper's claims", "",
                "From the seeds' 95% intervals: *holds* when every comparison the claim makes is above zero, "
                "*does not hold* when one is reversed, *inconclusive* when an interval straddles zero.", "",
                "| claim | verdict | figures |", "|---|---|---|"]
        out += [f"| {_md_escape(v['claim'])} | **{v['verdict']}** | {_md_escape(v['figures'])} |"
                for v in report.verdicts]
    return "\n".join(out) + "\n"


def _interval_text(value: float, interval, unit: str) -> str:
    if interval is None:
        return f"{value:.2f}{unit}"
    return f"{value:.2f}{unit} [{interval[0]:.2f}, {interval[1]:.2f}]"


def _markdown_table(table: Table) -> list[str]:
    head = ["row"] + [f"{METRIC_TITLES[m]} | n" for m in table.metrics] + ["from"]
    lines = ["| " + " | ".join(head) + " |", "|---" * (2 * len(table.metrics) + 2) + "|"]
    for row in table.rows:
        cells = [_md_escape(row.label)]
        for metric in table.metrics:
            score = row.scores.get(metric)
            cells += [score.text(), str(score.n)] if score else ["-", "-"]
        cells.append(_checkpoint_text(row))
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    lines += [f"*{line}*  " for line in table.conventions()] or ["*no scores yet*"]
    lines += [f"*{note}*  " for note in table.notes]
    return lines


LATEX_SPECIALS = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
                  "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}",
                  "±": r"$\pm$"}


def latex_escape(text) -> str:
    return "".join(LATEX_SPECIALS.get(ch, ch) for ch in str(text))


def _latex_score(score) -> str:
    if score is None:
        return "--"
    if score.metric == "class_consistency":
        return f"{100 * score.value:.1f}\\%"
    if score.std is not None:
        return f"${score.value:.2f} \\pm {score.std:.2f}$"
    return f"{score.value:.2f}"


def to_latex(report: Report) -> str:
    """One `table` environment per table (booktabs), captions in the paper's words plus conventions."""
    out = [f"% Results for dataset {latex_escape(report.dataset)}"
           + (f", suite job {report.suite_job_id}" if report.suite_job_id else "")
           + "; needs \\usepackage{booktabs}"]
    columns = report.table1.columns
    out += ["\\begin{table}[t]", "\\centering", "\\begin{tabular}{l" + "r" * len(columns) + "}", "\\toprule",
            "Class & " + " & ".join(latex_escape(c) for c in columns) + " \\\\", "\\midrule"]
    for name in report.table1.classes:
        out.append(latex_escape(name) + " & "
                   + " & ".join(str(report.table1.counts[name].get(c, 0)) for c in columns) + " \\\\")
    out += ["\\bottomrule", "\\end{tabular}", "\\caption{Pairs per class and split.}", "\\end{table}", ""]
    for table in report.tables:
        spec = "l" + "rr" * len(table.metrics) + "l"
        head = "Model" if table.number == "4" else "Feature"
        out += ["\\begin{table}[t]", "\\centering", "\\small", f"\\begin{{tabular}}{{{spec}}}", "\\toprule",
                head + " & " + " & ".join(f"{METRIC_TITLES[m]} & $n$" for m in table.metrics) + " & Source \\\\",
                "\\midrule"]
        for row in table.rows:
            cells = [latex_escape(row.label)]
            for metric in table.metrics:
                score = row.scores.get(metric)
                cells += [_latex_score(score), str(score.n) if score else "--"]
            cells.append(latex_escape(row.source()))
            out.append(" & ".join(cells) + " \\\\")
        caption = f"{table.title}. " + " ".join(f"{c}." for c in table.conventions())
        out += ["\\bottomrule", "\\end{tabular}", f"\\caption{{{latex_escape(caption)}}}",
                f"\\label{{tab:table{table.number}}}", "\\end{table}", ""]
    return "\n".join(out)
