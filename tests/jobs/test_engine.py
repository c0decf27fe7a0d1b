"""The job engine, run in-process (no worker): states, validation and the reaper."""
from datetime import timedelta

import pytest
from django.utils import timezone

from jobs import engine
from jobs.engine import JobError, cancel_job, claim_job, create_job, execute_job, retry_job
from jobs.models import Job, JobStatus
from jobs.reaper import reap_stale_jobs

pytestmark = pytest.mark.django_db


@pytest.fixture
def sent(monkeypatch):
    """Record dispatches instead of sending them to a broker."""
    messages = []
    monkeypatch.setattr(engine, "dispatch", lambda job_id, queue: messages.append((job_id, queue)))
    return messages


def test_create_validates_fills_defaults_and_dispatches_after_commit(sent, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        job = create_job("selfcheck", {"steps": 3})
    assert job.status == JobStatus.QUEUED and job.queue == "cpu"
    assert job.params == {"steps": 3, "step_seconds": 0.1, "size": 64, "seed": 0, "fail_at_step": -1}
    assert sent == [(job.pk, "cpu")]


@pytest.mark.parametrize("kind, params, message", [
    ("no-such-kind", {}, "unknown job kind 'no-such-kind'"),
    ("selfcheck", [1, 2], "params must be a JSON object"),
    ("selfcheck", {"stepz": 3}, "unknown params ['stepz']"),
    ("selfcheck", {"steps": "many"}, "param 'steps' must be int"),
    ("selfcheck", {"steps": True}, "param 'steps' must be int"),
    ("selfcheck", {"steps": 0}, "steps must be between 1 and 1,000,000"),
])
def test_bad_kind_or_params_are_refused_and_nothing_is_stored(sent, kind, params, message):
    with pytest.raises(JobError) as err:
        create_job(kind, params)
    assert message in str(err.value)
    assert Job.objects.count() == 0 and sent == []


def test_unknown_queue_is_refused(sent):
    with pytest.raises(JobError, match="unknown queue 'tpu'"):
        create_job("selfcheck", {}, queue="tpu")
    assert Job.objects.count() == 0


def test_claim_is_a_compare_and_swap(sent):
    job = create_job("selfcheck", {"steps": 1})
    first = claim_job(job.pk, "a")
    second = claim_job(job.pk, "b")
    assert first is not None and first.worker == "a" and first.attempts == 1
    assert second is None
    assert Job.objects.get(pk=job.pk).worker == "a"


def test_execute_in_process_succeeds_and_a_second_execution_is_a_no_op(sent):
    job = create_job("selfcheck", {"steps": 5, "step_seconds": 0})
    assert execute_job(job.pk, "w") == "succeeded"
    assert execute_job(job.pk, "w").startswith("not claimed")
    job.refresh_from_db()
    assert (job.status, job.attempts, job.step, job.progress) == (JobStatus.SUCCEEDED, 1, 5, 1.0)


def test_cancel_queued_job_is_immediate_and_it_never_runs(sent):
    job = create_job("selfcheck", {"steps": 5})
    cancel_job(job.pk)
    job.refresh_from_db()
    assert job.status == JobStatus.CANCELLED and job.finished_at
    assert execute_job(job.pk, "w").startswith("not claimed")
    assert Job.objects.get(pk=job.pk).attempts == 0


def test_cancelling_a_finished_job_is_refused_without_change(sent):
    job = create_job("selfcheck", {"steps": 2, "step_seconds": 0})
    execute_job(job.pk, "w")
    before = Job.objects.get(pk=job.pk)
    with pytest.raises(JobError, match="already finished \\(succeeded\\)"):
        cancel_job(job.pk)
    after = Job.objects.get(pk=job.pk)
    assert (after.status, after.cancel_requested, after.finished_at) == (
        before.status, before.cancel_requested, before.finished_at)
    with pytest.raises(JobError, match="does not exist"):
        cancel_job(987654)


def test_retry_only_failed_or_cancelled(sent):
    failed = create_job("selfcheck", {"steps": 3, "step_seconds": 0, "fail_at_step": 2})
    execute_job(failed.pk, "w")
    assert Job.objects.get(pk=failed.pk).status == JobStatus.FAILED
    retry_job(failed.pk)
    failed.refresh_from_db()
    assert failed.status == JobStatus.QUEUED and failed.error == ""
    assert (failed.attempts, failed.attempts_at_retry) == (1, 1)  # numbers only grow; the limit counts anew
    with pytest.raises(JobError, match="only failed or cancelled jobs can be retried"):
        retry_job(failed.pk)


def test_reaper_requeues_stale_running_jobs_then_gives_up(sent, settings):
    settings.JOB_MAX_ATTEMPTS = 2
    job = create_job("selfcheck", {"steps": 3})
    claim_job(job.pk, "dead-worker")
    fresh = create_job("selfcheck", {"steps": 3})
    claim_job(fresh.pk, "live-worker")
    stale_time = timezone.now() - timedelta(seconds=settings.JOB_HEARTBEAT_TIMEOUT + 5)
    Job.objects.filter(pk=job.pk).update(heartbeat_at=stale_time)

    assert reap_stale_jobs() == [(job.pk, "requeued")]
    job.refresh_from_db()
    assert job.status == JobStatus.QUEUED and "stale" in job.log_tail
    assert Job.objects.get(pk=fresh.pk).status == JobStatus.RUNNING  # a live heartbeat is left alone

    claim_job(job.pk, "dead-again")  # attempt 2 of 2 also dies
    Job.objects.filter(pk=job.pk).update(heartbeat_at=stale_time)
    assert reap_stale_jobs() == [(job.pk, "failed")]
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED and "lost 2 times" in job.error


def test_a_reaped_run_cannot_overwrite_its_replacement(sent):
    job = create_job("selfcheck", {"steps": 3})
    old = claim_job(job.pk, "old")
    old_ctx = engine.JobContext(old)
    Job.objects.filter(pk=job.pk).update(status=JobStatus.QUEUED)  # as the reaper would
    claim_job(job.pk, "new")
    with pytest.raises(engine.JobLost):
        old_ctx.progress(1, 3, force=True)
    old_ctx.fail("zombie says it failed")
    job.refresh_from_db()
    assert job.status == JobStatus.RUNNING and job.worker == "new" and job.error == ""


def test_progress_writes_are_throttled(sent, settings, django_assert_max_num_queries):
    settings.JOB_PROGRESS_MIN_INTERVAL = 60
    job = claim_job(create_job("selfcheck", {"steps": 3}).pk, "w")
    ctx = engine.JobContext(job)
    ctx.progress(1, 1000, force=True)
    with django_assert_max_num_queries(0):
        for step in range(2, 500):
            ctx.progress(step, 1000)
    ctx.progress(1000, 1000)  # the last step always lands
    assert Job.objects.get(pk=job.pk).step == 1000
