"""Write a suite's report as a folder: Markdown, CSV, LaTeX, charts with error bars, Fig. 2 grids and
Table 3 images (what docs/results/ holds)."""
import subprocess
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from gan.reports import ReportError, suite_report
from gan.reports.bundle import write_bundle
from jobs.models import Job


class Command(BaseCommand):
    help = "Export a suite job's results (tables, charts, images) to a folder."

    def add_arguments(self, parser):
        parser.add_argument("suite", type=int, help="the suite job's id")
        parser.add_argument("--out", required=True, help="folder to write (created if missing)")
        parser.add_argument("--command", default="", help="the command that ran the suite, quoted in the header")

    def handle(self, *args, suite, out, command, **options):
        try:
            report = suite_report(suite)
        except ReportError as exc:
            raise CommandError(str(exc))
        job = Job.objects.get(pk=suite)
        minutes = (job.finished_at - job.started_at).total_seconds() / 60 if job.finished_at and job.started_at else None
        revision = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                                  cwd=settings.BASE_DIR).stdout.strip() or "unknown"
        header = [f"Suite job #{suite} ({job.status}), preset `{report.preset}`"
                  + (f", {minutes:.0f} minutes from start to end" if minutes else "") + ".",
                  *([f"Made by `{command}`."] if command else []),
                  f"Exported from code at commit {revision} by `manage.py export_results {suite} --out {out}`.", ""]
        written = write_bundle(report, Path(out), Path(settings.MEDIA_ROOT), header)
        self.stdout.write(f"{len(written)} files written to {out}")
