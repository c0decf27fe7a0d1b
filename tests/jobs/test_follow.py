"""Following a job from a command: a bar on a terminal; in a log, one line per few percent or per
N seconds, never the same line twice; a failure as one line, the traceback only when asked."""
import io
from types import SimpleNamespace

import pytest
from django.core.management import CommandError

from jobs.engine import create_job
from jobs.follow import BarProgress, LineProgress, follow_job, metrics_line, progress_display
from jobs.models import JobStatus


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def fake_job(progress=0.0, status="running", message=""):
    return SimpleNamespace(kind="import_videos", pk=7, progress=progress, status=status, message=message)


def test_a_log_gets_a_line_per_five_percent_not_per_update():
    out, clock = io.StringIO(), Clock()
    display = LineProgress(fake_job(), out, clock=clock)
    for step in range(1, 2001):  # 2000 progress writes over 100 s, polled twice each
        clock.now = step * 0.05
        job = fake_job(step / 2000, message=f"{step}/2000 videos")
        display.update(job)
        display.update(job)
    display.close(job)
    lines = out.getvalue().splitlines()
    assert 20 <= len(lines) <= 22  # 0%, 5%, 10% ... 100% (the end always shown)
    assert len(set(lines)) == len(lines) and "\r" not in out.getvalue()
    assert lines[0].startswith("import_videos #7:   0% running: 1/2000 videos")
    assert lines[-1].startswith("import_videos #7: 100% running: 2000/2000 videos")


def test_a_slow_job_gets_a_line_every_thirty_seconds_and_no_repeats():
    out, clock = io.StringIO(), Clock()
    display = LineProgress(fake_job(), out, clock=clock)
    for second in range(0, 301):  # 5 minutes at 1% ... and the same message throughout
        clock.now = float(second)
        display.update(fake_job(0.01, message="training"))
    lines = out.getvalue().splitlines()
    assert len(lines) == 1  # nothing new to say: the same line is never written again
    for second in range(301, 421):
        clock.now = float(second)
        display.update(fake_job(0.01 + (second - 300) / 10000, message="training"))
    assert len(out.getvalue().splitlines()) - 1 == 4  # 120 s of crawling progress: one line per 30 s


def test_a_status_change_is_always_shown():
    out, clock = io.StringIO(), Clock()
    display = LineProgress(fake_job(), out, clock=clock)
    display.update(fake_job(0.5, "running"))
    display.update(fake_job(0.5, "failed", "bad input"))
    assert out.getvalue().splitlines()[-1].startswith("import_videos #7:  50% failed: bad input")


def test_a_terminal_gets_the_bar():
    class Terminal(io.StringIO):
        def isatty(self):
            return True

    assert isinstance(progress_display(fake_job(), Terminal()), BarProgress)
    assert isinstance(progress_display(fake_job(), io.StringIO()), LineProgress)


@pytest.mark.django_db(transaction=True)  # inline, the job runs in a thread with its own connection
def test_following_an_inline_job_into_a_log_file(settings):
    settings.JOB_PROGRESS_MIN_INTERVAL = 0
    job = create_job("selfcheck", {"steps": 40, "step_seconds": 0.05}, enqueue=False)
    out, log = io.StringIO(), io.StringIO()
    follow_job(job, inline=True, stdout=out, stderr=log)
    lines = log.getvalue().splitlines()
    assert 2 <= len(lines) <= 22 and len(set(lines)) == len(lines) and "\r" not in log.getvalue()
    assert out.getvalue().startswith(f"selfcheck #{job.pk} succeeded: {{")


@pytest.mark.django_db(transaction=True)
def test_a_failed_job_is_one_line_and_its_traceback_only_on_request(settings):
    settings.JOB_PROGRESS_MIN_INTERVAL = 0
    job = create_job("selfcheck", {"steps": 5, "fail_at_step": 2}, enqueue=False)
    log = io.StringIO()
    with pytest.raises(CommandError) as caught:
        follow_job(job, inline=True, stdout=io.StringIO(), stderr=log)
    message = str(caught.value)
    assert message.startswith(f"selfcheck #{job.pk} failed: RuntimeError: deliberate failure at step 2")
    assert "\n" not in message and "--traceback" in message and "Traceback" not in log.getvalue()
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED and "Traceback" in job.error
    again = create_job("selfcheck", {"steps": 5, "fail_at_step": 2}, enqueue=False)
    with pytest.raises(CommandError):
        follow_job(again, inline=True, stdout=io.StringIO(), stderr=log, traceback=True)
    assert "Traceback (most recent call last)" in log.getvalue()


def test_the_closing_line_shows_short_metrics_whole_and_cuts_a_suites_plan():
    assert metrics_line({"images": 240, "fid": 31.5}) == '{"images": 240, "fid": 31.5}'
    plan = {"cells": [{"key": f"g/{k}", "seed": s} for k in range(50) for s in range(3)]}
    line = metrics_line({"plan": plan, "children": 138})
    assert line == '{"children": 138} (and plan: on the job\'s admin page)'
