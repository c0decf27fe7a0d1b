"""Exactly-once under faults, with real worker processes: SIGKILL in each phase of a job, the
database away during a run, the broker down at dispatch, duplicate delivery, a full disk on a
checkpoint write. The `faulty` kind (tests/fault_kinds.py) records each run of its body and keeps
its work as a list of finished steps, written atomically under the job's fence: every test ends
with each step's work done exactly once, or the job failed with its reason, and no file
half-written. Workers here: heartbeat every 0.3 s, lost after 3 s, reaper every second."""
import json
import time

import pytest

from jobs import engine
from jobs.engine import create_job, dispatch
from jobs.models import Job, JobStatus
from tests import fault_kinds
from tests.jobs.test_worker import wait_for

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]
STEPS = 5


@pytest.fixture
def faulty(transactional_db, tmp_path):
    fault_kinds.register()
    out = tmp_path / "job-out"
    out.mkdir()
    yield out
    fault_kinds.unregister()


def launch(out, **params):
    return create_job(fault_kinds.KIND, {"out": str(out), "steps": STEPS, "step_seconds": 0.1, **params})


def assert_done_once(out, job):
    assert job.status == JobStatus.SUCCEEDED, f"{job.status}: {job.error}\n{job.log_tail}"
    assert fault_kinds.read_state(out) == list(range(1, STEPS + 1))  # every step's work, once
    assert job.metrics["done"] == STEPS
    assert not list(out.glob(".*.tmp")), "a temporary file was left behind"
    json.loads((out / fault_kinds.STATE).read_text())  # the real name is never half-written


def assert_never_overlapped(out):
    """No attempt's body started before the previous attempt's body had exited (or died)."""
    starts, exits = fault_kinds.runs(out)
    exit_at = dict(exits)
    for (attempt, _), (_, next_start) in zip(starts, starts[1:]):
        if attempt in exit_at:
            assert exit_at[attempt] <= next_start, f"attempt {attempt} still ran when the next one started"


@pytest.mark.parametrize("phase, body_runs, attempts", [
    ("claim", 1, 2),       # claimed, killed before the body: the second attempt runs it
    ("step", 2, 2),        # killed before step 3: the second run does steps 3-5
    ("checkpoint", 2, 2),  # killed with half of step 3's state in a temporary file
    ("result", 2, 2),      # body finished, killed before SUCCEEDED was written: the second run
                           # finds all steps done and only records the result
])
def test_sigkill_in_each_phase_ends_with_the_work_done_once(start_worker, faulty, phase, body_runs, attempts):
    doomed = start_worker("doomed", faults={"kill_at": phase, "kill_step": 3})
    job = launch(faulty)
    wait_for(job.pk, lambda j: j.status == JobStatus.RUNNING, what="claim")
    deadline = time.monotonic() + 60
    while doomed.process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.1)
    assert doomed.process.poll() is not None, "the fault never fired"
    start_worker("rescuer", beat=True, faults={})
    job = wait_for(job.pk, lambda j: j.is_finished, timeout=90, what="finish after the kill")
    assert_done_once(faulty, job)
    starts, _ = fault_kinds.runs(faulty)
    assert len(starts) == body_runs and job.attempts == attempts
    assert_never_overlapped(faulty)


def test_a_database_outage_shorter_than_the_timeout_is_ridden_out(start_worker, faulty):
    # 1.5 s without any heartbeat or progress write, against a 6 s timeout (the job would stop
    # itself after 5.4 s): ridden out, with room to spare on a loaded machine; a reaper runs all
    # along on its own worker.
    timeout = {"JOB_HEARTBEAT_TIMEOUT": "6"}
    start_worker("w1", faults={"db_away_s": 1.5}, env=timeout)
    job = launch(faulty, step_seconds=0.6)
    wait_for(job.pk, lambda j: j.status == JobStatus.RUNNING, what="claim")
    start_worker("upkeep", queues="upkeep", beat=True, env=timeout)
    job = wait_for(job.pk, lambda j: j.is_finished, timeout=60, what="finish")
    assert_done_once(faulty, job)
    assert len(fault_kinds.runs(faulty)[0]) == 1 and job.attempts == 1


def test_a_database_outage_longer_than_the_timeout_stops_the_job_before_it_is_replaced(start_worker, faulty):
    # 4 s away: the job stops itself (JobLost) after 2.4 s, the reaper requeues it after 3 s, a
    # second attempt resumes from the last step written, and the two never run at once.
    start_worker("w1", faults={"db_away_s": 4})
    job = launch(faulty, step_seconds=0.6)
    wait_for(job.pk, lambda j: j.status == JobStatus.RUNNING, what="claim")
    start_worker("w2", beat=True, faults={})
    job = wait_for(job.pk, lambda j: j.is_finished, timeout=90, what="finish")
    assert_done_once(faulty, job)
    starts, exits = fault_kinds.runs(faulty)
    assert len(starts) == 2 and job.attempts == 2
    assert exits[0][0] == 1  # the first attempt's body exited (stopped itself), it was not killed
    assert_never_overlapped(faulty)


def test_broker_down_at_dispatch_the_sweeper_sends_it(start_worker, faulty, monkeypatch):
    def refuse(*args, **kwargs):
        raise ConnectionRefusedError(111, "Connection refused (injected)")

    monkeypatch.setattr(engine.current_app, "send_task", refuse)
    job = launch(faulty)  # no error for the caller: the row is stored, the message is not
    assert Job.objects.get(pk=job.pk).status == JobStatus.QUEUED
    monkeypatch.undo()
    start_worker("w1", beat=True, faults={}, env={"JOB_REDISPATCH_AFTER": "1"})
    job = wait_for(job.pk, lambda j: j.is_finished, timeout=60, what="finish after the sweep")
    assert_done_once(faulty, job)
    assert len(fault_kinds.runs(faulty)[0]) == 1 and job.attempts == 1


def test_duplicate_delivery_to_two_workers_runs_the_body_once(start_worker, faulty):
    start_worker("w1", faults={})
    start_worker("w2", faults={})
    job = launch(faulty)
    dispatch(job.pk, "cpu")
    dispatch(job.pk, "cpu")
    job = wait_for(job.pk, lambda j: j.is_finished, what="finish")
    time.sleep(1)  # let the copies reach the workers and be refused
    assert_done_once(faulty, job)
    assert len(fault_kinds.runs(faulty)[0]) == 1 and job.attempts == 1


def test_a_full_disk_on_a_checkpoint_write_fails_the_job_with_its_reason(start_worker, faulty):
    start_worker("w1", faults={"enospc_step": 3})
    job = launch(faulty)
    job = wait_for(job.pk, lambda j: j.is_finished, what="finish")
    assert job.status == JobStatus.FAILED and "No space left on device" in job.error
    assert fault_kinds.read_state(faulty) == [1, 2]  # the last complete state, intact
    assert not list(faulty.glob(".*.tmp"))
    assert len(fault_kinds.runs(faulty)[0]) == 1
