"""Reports of the paper's tables (1-4) and figures from stored evaluations: JSON, CSV, Markdown,
LaTeX and the ablation-ladder chart. ``suite_report(job)`` or ``dataset_report(dataset)`` gather a
:class:`Report` (tables.py); ``Report.as_dict`` and formats.py's ``to_csv`` / ``to_markdown`` /
``to_latex`` give the formats."""
from ..selectors.reports import suites_of
from .chart import ladder_chart
from .collect import ReportError, dataset_report, suite_report
from .tables import CountTable, Report, Row, Score, Table

__all__ = ["CountTable", "Report", "ReportError", "Row", "Score", "Table", "dataset_report", "ladder_chart",
           "suite_report", "suites_of"]
