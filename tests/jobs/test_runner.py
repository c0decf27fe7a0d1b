"""The inline runner: a parent job that runs or waits for its children (jobs/runner.py)."""
import pytest

from jobs import engine, runner
from jobs.engine import JobContext, claim_job, create_job
from jobs.errors import JobError
from jobs.models import Job, JobStatus

# Children run in threads with their own database connections: they must see committed rows.
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def parent(monkeypatch):
    monkeypatch.setattr(engine, "dispatch", lambda job_id, queue: None)  # no broker: nothing consumes
    monkeypatch.setattr(runner, "POLL_SECONDS", 0.01)
    job = create_job("selfcheck", {"steps": 1, "step_seconds": 0})
    return JobContext(claim_job(job.pk, "test"))


def test_inline_children_run_here_through_the_engine_and_the_parent_counts_them(parent):
    children = [create_job("selfcheck", {"steps": 3, "step_seconds": 0}) for _ in range(2)]
    plan = {"stage": "both"}
    parent.progress(0, 2, metrics={"plan": plan})   # the parent's own metrics go out with its progress
    group = runner.ChildJobs(parent, total=2, inline=True, steal_after_s=0)
    group.see_through([c.pk for c in children], "check")
    assert group.done == 2
    for child in Job.objects.filter(pk__in=[c.pk for c in children]):
        assert child.status == JobStatus.SUCCEEDED and child.attempts == 1
        assert child.worker == f"parent-{parent.job_id}"
    row = Job.objects.get(pk=parent.job_id)
    assert row.step == 2 and row.metrics["plan"] == plan and "done" in row.message


def test_a_waiting_child_no_worker_takes_is_run_by_the_parent(parent, monkeypatch):
    """One worker, busy with the parent: after steal_after_s the parent runs the child itself."""
    ran = []
    monkeypatch.setattr(engine, "execute_job", lambda pk, worker: ran.append(pk) or Job.objects.filter(
        pk=pk).update(status=JobStatus.SUCCEEDED))
    child = create_job("selfcheck", {"steps": 1})  # queued, and no worker will take it
    group = runner.ChildJobs(parent, total=1, inline=False, steal_after_s=0.05)
    group.see_through([child.pk], "check")
    assert ran == [child.pk] and group.done == 1
    assert f"no worker started job #{child.pk} in 0.05 s" in Job.objects.get(pk=parent.job_id).log_tail


def test_a_failing_child_fails_the_parent_and_cancels_the_waiting_ones(parent):
    bad = create_job("selfcheck", {"steps": 3, "step_seconds": 0, "fail_at_step": 2})
    waiting = create_job("selfcheck", {"steps": 3})
    group = runner.ChildJobs(parent, total=2, inline=True, steal_after_s=0)
    with pytest.raises(JobError, match=rf"selfcheck job #{bad.pk} \(check\) failed"):
        group.see_through([bad.pk, waiting.pk], "check")
    assert Job.objects.get(pk=waiting.pk).status == JobStatus.CANCELLED


def test_children_run_side_by_side_up_to_the_parallel_limit(parent):
    children = [create_job("selfcheck", {"steps": 4, "step_seconds": 0.2}) for _ in range(3)]
    group = runner.ChildJobs(parent, total=3, inline=True, steal_after_s=0, parallel=2)
    group.see_through([c.pk for c in children], "check")
    rows = list(Job.objects.filter(pk__in=[c.pk for c in children]).order_by("pk"))
    assert all(r.status == JobStatus.SUCCEEDED for r in rows) and group.done == 3
    # the first two overlapped in time; the third started only after one of them had finished
    first, second, third = rows
    assert second.started_at < first.finished_at and first.started_at < second.finished_at
    assert third.started_at >= min(first.finished_at, second.finished_at)


def test_a_tolerated_failure_is_returned_and_the_others_go_on(parent):
    bad = create_job("selfcheck", {"steps": 2, "step_seconds": 0, "fail_at_step": 1})
    good = create_job("selfcheck", {"steps": 2, "step_seconds": 0})
    group = runner.ChildJobs(parent, total=2, inline=True, steal_after_s=0)
    tolerated = group.see_through([bad.pk, good.pk], "check", tolerate=lambda job: job.pk == bad.pk)
    assert tolerated == [bad.pk] and group.done == 2
    assert Job.objects.get(pk=good.pk).status == JobStatus.SUCCEEDED
    # a resumed parent does not retry a tolerated failure
    assert group.see_through([bad.pk], "again", tolerate=lambda job: True) == [bad.pk]
    assert Job.objects.get(pk=bad.pk).attempts == 1
