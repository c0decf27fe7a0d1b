"""A job kind and fault-injection hooks for the exactly-once tests (tests/jobs/test_faults.py).

The `faulty` kind is selfcheck's shape with its effects made visible: every run of its body appends
a line to `runs` (start and exit, with the time), and its work is a list of finished steps kept in
`state.json`, written atomically under the job's fence after each step; a resumed run continues
after the last step there. So the tests can count body runs, see each step's work exactly once,
and check that no file is half-written.

install(faults) patches the engine and the atomic writer inside a worker process
(tests/fault_worker.py): SIGKILL at a phase (claim, step, checkpoint write, result write), the
database away for a while (heartbeat and progress writes raise OperationalError), a full disk on a
checkpoint write (ENOSPC).
"""
from __future__ import annotations

import errno
import json
import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path

from jobs.context import JobContext
from jobs.registry import KINDS, register_kind

KIND = "faulty"
STATE = "state.json"


@dataclass
class FaultyParams:
    out: str
    steps: int = 5
    step_seconds: float = 0.05


def _append(path: Path, line: str) -> None:
    with open(path, "a") as handle:
        handle.write(line + "\n")


def read_state(out: Path) -> list[int]:
    path = out / STATE
    return json.loads(path.read_text())["done"] if path.exists() else []


def run_faulty(ctx: JobContext, p: FaultyParams) -> dict:
    from gan.ml import atomic  # a plain-Python module: the same writer the training job uses

    out = Path(p.out)
    _append(out / "runs", f"start {ctx.attempt} {time.time():.3f}")
    try:
        for stale in out.glob(f".{STATE}.*.tmp"):  # left by a run killed mid-write; this run owns the job
            stale.unlink()
        done = read_state(out)
        with atomic.fenced_writes(ctx.fence):
            for step in range(len(done) + 1, p.steps + 1):
                _hook("step", step)
                deadline = time.monotonic() + p.step_seconds
                while time.monotonic() < deadline:
                    time.sleep(0.02)
                    ctx.check_cancelled()
                done.append(step)
                _CURRENT["step"] = step
                atomic.write_bytes(out / STATE, json.dumps({"done": done}).encode())
                ctx.progress(step, p.steps)
        return {"done": len(done)}
    finally:
        _append(out / "runs", f"exit {ctx.attempt} {time.time():.3f}")


def register() -> None:
    if KIND not in KINDS:
        register_kind(KIND, run=run_faulty, queue="cpu", params=FaultyParams, label="Fault-injection test kind")


def unregister() -> None:
    KINDS.pop(KIND, None)


def runs(out: Path) -> tuple[list[tuple[int, float]], list[tuple[int, float]]]:
    """(starts, exits) of the body, as (attempt, unix time)."""
    starts, exits = [], []
    for line in (out / "runs").read_text().splitlines() if (out / "runs").exists() else []:
        what, attempt, at = line.split()
        (starts if what == "start" else exits).append((int(attempt), float(at)))
    return starts, exits


# --- fault injection (inside a worker process) ---------------------------------------------------

_FAULTS: dict = {}
_CURRENT: dict = {"step": 0}


def _die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def _hook(phase: str, step: int) -> None:
    if _FAULTS.get("kill_at") == phase and step == _FAULTS.get("kill_step", 1):
        _die()


def install(faults: dict) -> None:
    """Patch this process as `faults` asks; see the module's docstring."""
    from django.db import OperationalError

    from gan.ml import atomic
    from jobs import engine
    from jobs.heartbeat import Heartbeat

    register()
    _FAULTS.update(faults)
    kill_at = faults.get("kill_at")

    if kill_at == "claim":
        claim = engine.claim_job

        def claim_then_die(job_id, worker):
            job = claim(job_id, worker)
            if job is not None:
                _die()  # the claim is committed; the body never starts
            return job
        engine.claim_job = claim_then_die

    if kill_at == "checkpoint" or "enospc_step" in faults:
        write_with = atomic.write_with

        def faulty_write(path, write, *, sync=True):
            if Path(path).name != STATE:
                return write_with(path, write, sync=sync)
            step = _CURRENT["step"]
            if kill_at == "checkpoint" and step == faults.get("kill_step", 1):
                def write_then_die(handle):
                    handle.write(b'{"done": [')  # half a file, in the temporary name
                    handle.flush()
                    _die()
                return write_with(path, write_then_die, sync=sync)
            if step == faults.get("enospc_step"):
                def write_until_full(handle):
                    handle.write(b'{"done": [')
                    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
                return write_with(path, write_until_full, sync=sync)
            return write_with(path, write, sync=sync)
        atomic.write_with = faulty_write

    if kill_at == "result":
        end = JobContext._end

        def die_before_recording(self, status, **extra):
            if status == "succeeded":
                _die()  # the body has finished; its result is not recorded
            return end(self, status, **extra)
        JobContext._end = die_before_recording

    if "db_away_s" in faults:
        # The database goes away when the body starts, for db_away_s seconds: every heartbeat and
        # progress write of this process raises, as with a restarting server.
        window = {"until": None}
        run = run_faulty

        def start_outage(ctx, p):
            if window["until"] is None:  # one outage, when the first body starts
                window["until"] = time.monotonic() + float(faults["db_away_s"])
            return run(ctx, p)
        KINDS[KIND] = KINDS[KIND].__class__(KIND, "cpu", FaultyParams, "Fault-injection test kind", start_outage)

        def away() -> bool:
            return window["until"] is not None and time.monotonic() < window["until"]

        touch, update = Heartbeat._touch, JobContext._update_running

        def touch_or_fail(self):
            if away():
                raise OperationalError("server closed the connection unexpectedly (injected)")
            return touch(self)

        def update_or_fail(self, **fields):
            if away():
                raise OperationalError("server closed the connection unexpectedly (injected)")
            return update(self, **fields)
        Heartbeat._touch = touch_or_fail
        JobContext._update_running = update_or_fail
