"""Exactly-once pieces of the engine, in-process: cancel against the reaper, attempt numbers across
retries, the sweeper of lost messages, the heartbeat under database errors, and the fence that
keeps a given-up attempt from writing into the run that replaced it."""
import os
import threading
import time
from datetime import timedelta

import pytest
from django.db import OperationalError
from django.utils import timezone

from gan.ml import atomic
from jobs import engine
from jobs.engine import cancel_job, claim_job, create_job, execute_job, retry_job
from jobs.heartbeat import Heartbeat
from jobs.models import Job, JobStatus
from jobs.reaper import reap_stale_jobs, sweep_queued_jobs
from jobs.registry import KINDS, register_kind


@pytest.fixture
def sent(monkeypatch):
    messages = []
    monkeypatch.setattr(engine, "dispatch", lambda job_id, queue: messages.append((job_id, queue)) or True)
    return messages


def make_stale(job, settings):
    Job.objects.filter(pk=job.pk).update(
        heartbeat_at=timezone.now() - timedelta(seconds=settings.JOB_HEARTBEAT_TIMEOUT + 5))


@pytest.mark.django_db
def test_a_cancelled_job_whose_worker_died_is_marked_cancelled_not_requeued(sent, settings):
    job = create_job("selfcheck", {"steps": 3})
    claim_job(job.pk, "dead")
    cancel_job(job.pk)  # running: only the flag is set, and nobody is left to see it
    make_stale(job, settings)
    assert reap_stale_jobs() == [(job.pk, "cancelled")]
    job.refresh_from_db()
    assert job.status == JobStatus.CANCELLED and job.finished_at and "cancelled" in job.message
    retry_job(job.pk)  # a retry clears the flag, so the job can be claimed again
    job.refresh_from_db()
    assert (job.status, job.cancel_requested) == (JobStatus.QUEUED, False)
    assert execute_job(job.pk, "w") == "succeeded"
    assert Job.objects.get(pk=job.pk).attempts == 2


@pytest.mark.django_db
def test_attempt_numbers_only_grow_and_the_limit_counts_from_the_last_retry(sent, settings):
    settings.JOB_MAX_ATTEMPTS = 2
    job = create_job("selfcheck", {"steps": 2, "step_seconds": 0})
    for expected in ("requeued", "failed"):  # two lost runs use up the limit
        claim_job(job.pk, "dead")
        make_stale(job, settings)
        assert reap_stale_jobs() == [(job.pk, expected)]
    retry_job(job.pk)
    claim_job(job.pk, "dead")  # attempt 3 is lost too: first of two after the retry, so requeued
    make_stale(job, settings)
    assert reap_stale_jobs() == [(job.pk, "requeued")]
    assert execute_job(job.pk, "w") == "succeeded"
    job.refresh_from_db()
    assert (job.attempts, job.attempts_at_retry) == (4, 2)
    assert "attempt 4 on w" in job.log_tail


@pytest.mark.django_db
def test_the_sweeper_sends_a_queued_job_again_less_often_the_longer_it_waits(
        sent, settings, django_capture_on_commit_callbacks):
    settings.JOB_REDISPATCH_AFTER = 10
    job = create_job("selfcheck", {"steps": 2})
    inline = create_job("selfcheck", {"steps": 2}, enqueue=False)  # run in-process: never swept
    t0 = Job.objects.get(pk=job.pk).dispatched_at
    at = lambda s: t0 + timedelta(seconds=s)  # noqa: E731
    assert sweep_queued_jobs(at(5)) == []
    with django_capture_on_commit_callbacks(execute=True):
        sends = [s for s in range(1, 100) if sweep_queued_jobs(at(s))]
    assert sends == [10, 20, 40, 80]  # after the grace period, then doubling waits
    assert all(pk == job.pk for pk, _ in sent) and len(sent) == 4
    assert Job.objects.get(pk=inline.pk).dispatched_at is None
    claim_job(job.pk, "w")
    assert sweep_queued_jobs(at(500)) == []  # claimed: nothing to send


@pytest.mark.django_db
def test_a_broker_that_is_down_does_not_fail_the_launch(monkeypatch, django_capture_on_commit_callbacks):
    def refuse(*args, **kwargs):
        raise ConnectionRefusedError(111, "Connection refused")

    monkeypatch.setattr(engine.current_app, "send_task", refuse)
    with django_capture_on_commit_callbacks(execute=True):
        job = create_job("selfcheck", {"steps": 2})
    assert Job.objects.get(pk=job.pk).status == JobStatus.QUEUED  # the sweeper will send it


@pytest.fixture
def slow_kind():
    """A kind whose body sleeps in small slices (progress calls between) and records that it ran."""
    seen = []

    def body(ctx, params):
        seen.append(ctx.attempt)
        for step in range(1, 31):
            time.sleep(0.05)
            ctx.progress(step, 30)
        return {"ran": True}

    register_kind("slow-test", run=body, queue="cpu")
    yield seen
    KINDS.pop("slow-test")


def test_the_heartbeat_rides_out_database_errors(transactional_db, sent, settings, slow_kind, monkeypatch):
    settings.JOB_HEARTBEAT_INTERVAL, settings.JOB_HEARTBEAT_TIMEOUT = 0.1, 3
    failures, touch = [], Heartbeat._touch

    def flaky(self):
        if len(failures) < 5:  # 0.5 s of errors, well under the 2.8 s self-stop
            failures.append(1)
            raise OperationalError("server closed the connection unexpectedly")
        return touch(self)

    monkeypatch.setattr(Heartbeat, "_touch", flaky)
    job = create_job("slow-test")
    assert execute_job(job.pk, "w") == "succeeded"
    assert len(failures) == 5 and slow_kind == [1]


def test_a_heartbeat_that_cannot_write_stops_its_job_before_the_timeout(transactional_db, sent, settings,
                                                                           slow_kind, monkeypatch):
    settings.JOB_HEARTBEAT_INTERVAL, settings.JOB_HEARTBEAT_TIMEOUT = 0.1, 1.0  # stops after 0.8 s

    def down(self):
        raise OperationalError("could not connect to server")

    monkeypatch.setattr(Heartbeat, "_touch", down)
    job = create_job("slow-test")
    started = time.monotonic()
    outcome = execute_job(job.pk, "w")
    assert outcome.startswith("lost (no heartbeat could be written")
    assert time.monotonic() - started < 1.4  # stopped on its own, not at the end of its 1.5 s body
    assert Job.objects.get(pk=job.pk).status == JobStatus.RUNNING  # the reaper will requeue it


def test_a_heartbeat_that_finds_its_job_taken_over_stops_it(transactional_db, sent, settings, slow_kind):
    settings.JOB_HEARTBEAT_INTERVAL, settings.JOB_PROGRESS_MIN_INTERVAL = 0.1, 60  # only the heartbeat notices
    job = create_job("slow-test")

    def take_over():
        while not Job.objects.filter(pk=job.pk, status=JobStatus.RUNNING).exists():
            time.sleep(0.02)
        Job.objects.filter(pk=job.pk).update(status=JobStatus.QUEUED)  # as the reaper would
        claim_job(job.pk, "other")

    thief = threading.Thread(target=take_over)
    thief.start()
    outcome = execute_job(job.pk, "w")
    thief.join()
    assert outcome.startswith("lost")
    job.refresh_from_db()
    assert (job.status, job.worker, job.attempts) == (JobStatus.RUNNING, "other", 2)


@pytest.mark.django_db
def test_a_given_up_attempt_cannot_rename_a_file_into_the_run(sent, tmp_path):
    job = create_job("selfcheck", {"steps": 3})
    old = engine.JobContext(claim_job(job.pk, "old"))
    target = tmp_path / "checkpoint.bin"
    with atomic.fenced_writes(old.fence):
        atomic.write_bytes(target, b"attempt 1")  # owner: lands
    assert old.owns()
    Job.objects.filter(pk=job.pk).update(status=JobStatus.QUEUED)  # reaped
    new = engine.JobContext(claim_job(job.pk, "new"))
    with atomic.fenced_writes(new.fence):
        atomic.write_bytes(target, b"attempt 2")
    with atomic.fenced_writes(old.fence), pytest.raises(engine.JobLost):
        atomic.write_bytes(target, b"late write of attempt 1")
    assert target.read_bytes() == b"attempt 2"
    assert not old.owns() and new.owns()
    assert sorted(os.listdir(tmp_path)) == ["checkpoint.bin"]  # the refused temporary file is gone
    with pytest.raises(engine.JobLost):
        with old.fence():
            pass


def test_a_full_disk_leaves_the_previous_file_and_no_temporary(tmp_path):
    import errno

    target = tmp_path / "state.bin"
    atomic.write_bytes(target, b"complete")

    def fill(handle):
        handle.write(b"half")
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(OSError, match="No space left"):
        atomic.write_with(target, fill)
    assert target.read_bytes() == b"complete" and os.listdir(tmp_path) == ["state.bin"]
