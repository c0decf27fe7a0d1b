"""The job engine with a real Celery worker process on the configured broker (Redis in CI)."""
import time
from datetime import timedelta

import pytest
from django.utils import timezone

from jobs.engine import cancel_job, claim_job, create_job, dispatch
from jobs.models import Job, JobStatus

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]


def wait_for(job_id, predicate, timeout=60.0, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = Job.objects.get(pk=job_id)
        if predicate(job):
            return job
        time.sleep(0.1)
    raise AssertionError(f"job {job_id}: timed out waiting for {what}; last state {job.status} "
                         f"step {job.step}/{job.total}\n{job.log_tail}\n{job.error}")


def test_job_runs_on_a_real_worker_and_records_progress(start_worker):
    start_worker("w1")
    job = create_job("selfcheck", {"steps": 12, "step_seconds": 0.05})
    seen_steps = set()

    def done(j):
        seen_steps.add(j.step)
        return j.is_finished

    job = wait_for(job.pk, done, what="finish")
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert (job.step, job.total, job.progress) == (12, 12, 1.0)
    assert job.attempts == 1
    assert job.worker.startswith("w1@")
    assert job.metrics["relative_error"] < 0.2  # power iteration really converged toward numpy's
    assert abs(job.metrics["estimate"] - job.metrics["exact"]) / job.metrics["exact"] < 0.2
    assert job.started_at and job.finished_at and job.finished_at >= job.started_at
    assert "succeeded" in job.log_tail
    assert any(0 < s < 12 for s in seen_steps), f"no intermediate progress seen: {seen_steps}"


def test_the_same_job_delivered_three_times_to_two_workers_runs_once(start_worker):
    w1, w2 = start_worker("w1"), start_worker("w2")
    job = create_job("selfcheck", {"steps": 10, "step_seconds": 0.1})
    dispatch(job.pk, "cpu")  # the same message again, as a redelivery would send it
    dispatch(job.pk, "cpu")
    job = wait_for(job.pk, lambda j: j.is_finished, what="finish")
    assert job.status == JobStatus.SUCCEEDED
    assert job.attempts == 1
    assert job.log_tail.count("attempt 1 on") == 1
    deadline = time.monotonic() + 20  # both workers must have consumed all three messages
    while time.monotonic() < deadline:
        logs = w1.log() + w2.log()
        if logs.count("jobs.run_job[") >= 6:  # received + finished, per message
            break
        time.sleep(0.2)
    logs = w1.log() + w2.log()
    assert logs.count("'succeeded'") == 1
    assert logs.count("not claimed") == 2


def test_worker_killed_mid_job_is_reaped_and_the_job_finishes_on_attempt_2(start_worker):
    w1 = start_worker("w1")
    job = create_job("selfcheck", {"steps": 30, "step_seconds": 0.1})
    wait_for(job.pk, lambda j: j.status == JobStatus.RUNNING and j.step >= 3, what="progress")
    w1.kill()
    time.sleep(0.5)
    assert Job.objects.get(pk=job.pk).status == JobStatus.RUNNING  # nobody has noticed yet
    start_worker("w2", beat=True)  # the periodic reaper runs every second here
    job = wait_for(job.pk, lambda j: j.is_finished, timeout=90, what="finish after reaping")
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert job.attempts == 2
    assert job.worker.startswith("w2@")
    assert "stale" in job.log_tail and "attempt 2 on w2@" in job.log_tail
    assert not Job.objects.filter(status=JobStatus.RUNNING).exists()


def test_cancel_while_running_stops_within_a_few_steps(start_worker):
    start_worker("w1")
    job = create_job("selfcheck", {"steps": 200, "step_seconds": 0.1})
    running = wait_for(job.pk, lambda j: j.status == JobStatus.RUNNING and j.step >= 2, what="run")
    cancel_job(job.pk)
    job = wait_for(job.pk, lambda j: j.is_finished, timeout=30, what="cancel")
    assert job.status == JobStatus.CANCELLED
    assert job.step <= running.step + 10, (running.step, job.step)
    assert job.finished_at is not None
    assert "cancelled" in job.log_tail


def test_failure_is_recorded_with_traceback_and_the_worker_lives_on(start_worker):
    start_worker("w1")
    bad = create_job("selfcheck", {"steps": 5, "step_seconds": 0, "fail_at_step": 3})
    bad = wait_for(bad.pk, lambda j: j.is_finished, what="failure")
    assert bad.status == JobStatus.FAILED
    assert "deliberate failure at step 3" in bad.error and "Traceback" in bad.error
    good = create_job("selfcheck", {"steps": 3, "step_seconds": 0})
    assert wait_for(good.pk, lambda j: j.is_finished, what="next job").status == JobStatus.SUCCEEDED


def test_a_message_under_the_tasks_old_name_still_runs_its_job(start_worker):
    """Messages queued before the engine left the gan app are named gan.tasks.run_job."""
    from celery import current_app

    from jobs.tasks import LEGACY_NAMES

    start_worker("w1")
    job = create_job("selfcheck", {"steps": 3, "step_seconds": 0}, enqueue=False)
    current_app.send_task(LEGACY_NAMES["jobs.run_job"], args=[job.pk], queue="cpu")
    assert LEGACY_NAMES["jobs.run_job"] == "gan.tasks.run_job"
    assert wait_for(job.pk, lambda j: j.is_finished, what="finish").status == JobStatus.SUCCEEDED


def test_upkeep_runs_while_a_long_job_occupies_the_only_work_worker(start_worker, settings):
    """The demo's layout: one solo worker for jobs (busy for the whole test) and a small one for
    the upkeep queue with beat. A job whose worker died is reaped while the long job still runs."""
    assert {entry["options"]["queue"] for entry in settings.CELERY_BEAT_SCHEDULE.values()} == {"upkeep"}
    start_worker("work")  # cpu,gpu
    long = create_job("selfcheck", {"steps": 300, "step_seconds": 0.1})
    wait_for(long.pk, lambda j: j.status == JobStatus.RUNNING, what="the long job to start")
    orphan = create_job("selfcheck", {"steps": 2, "step_seconds": 0}, enqueue=False)
    claim_job(orphan.pk, "a-worker-that-died")
    Job.objects.filter(pk=orphan.pk).update(heartbeat_at=timezone.now() - timedelta(minutes=5))
    start_worker("upkeep", queues="upkeep", beat=True)
    orphan = wait_for(orphan.pk, lambda j: j.status != JobStatus.RUNNING, timeout=30, what="the reaper")
    assert orphan.status == JobStatus.QUEUED and "stale" in orphan.log_tail  # requeued behind the long job
    assert Job.objects.get(pk=long.pk).status == JobStatus.RUNNING  # ... which the reaper did not wait for
    cancel_job(long.pk)
    assert wait_for(orphan.pk, lambda j: j.is_finished, what="the requeued job").status == JobStatus.SUCCEEDED
