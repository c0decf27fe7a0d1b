"""Start real Celery worker processes against the test database, for tests of the job engine."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from django.conf import settings
from django.db import connection

REPO = Path(__file__).resolve().parent.parent
CELERY = str(Path(sys.executable).with_name("celery"))


def test_database_url() -> str:
    """The URL of the database this test runs on (the test database, not the configured one)."""
    s = connection.settings_dict
    if s["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{s['NAME']}"
    auth = s["USER"] + (f":{s['PASSWORD']}" if s["PASSWORD"] else "")
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


def purge_queues() -> None:
    """Drop messages left by earlier tests so they cannot reach this test's workers."""
    from evalsite.celery import app

    with app.connection_for_write() as conn:
        for queue in ("cpu", "gpu", settings.UPKEEP_QUEUE):
            try:
                conn.default_channel.queue_purge(queue)
            except Exception:  # a queue that was never declared has nothing to purge
                pass


class Worker:
    """A real `celery worker` process (solo pool) on the test database and the configured broker.

    beat=True embeds beat (the reaper every second) and adds the upkeep queue its tasks go to.
    faults: fault-injection hooks (tests/fault_kinds.py) installed in the worker process before
    Celery starts, which then also knows the `faulty` test kind ({} for none but the kind).
    """

    def __init__(self, name: str, log_dir: Path, *, queues: str = "cpu,gpu", beat: bool = False,
                 env: dict | None = None, faults: dict | None = None):
        self.name = name
        self.log_path = log_dir / f"{name}.log"
        full_env = dict(os.environ)
        full_env.update({
            "DATABASE_URL": test_database_url(),
            "VAR_DIR": str(settings.VAR_DIR),
            "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
            "JOB_HEARTBEAT_INTERVAL": "0.3",
            "JOB_HEARTBEAT_TIMEOUT": "3",
            "JOB_REAP_INTERVAL": "1",
            "JOB_PROGRESS_MIN_INTERVAL": "0.1",
            "PYTHONUNBUFFERED": "1",
        })
        full_env.update(env or {})
        if beat and settings.UPKEEP_QUEUE not in queues.split(","):
            queues += f",{settings.UPKEEP_QUEUE}"
        args = ["-A", "evalsite", "worker", "-Q", queues, "-P", "solo", "-c", "1",
                "-n", f"{name}@%h", "--without-mingle", "--without-gossip", "-l", "INFO"]
        if beat:
            args += ["-B", "-s", str(log_dir / f"{name}-beat-schedule")]
        if faults is not None:
            full_env["TEST_FAULTS"] = json.dumps(faults)
            cmd = [sys.executable, "-m", "tests.fault_worker", *args]
        else:
            cmd = [CELERY, *args]
        self._log = open(self.log_path, "w")
        self.process = subprocess.Popen(cmd, cwd=REPO, env=full_env, stdout=self._log,
                                        stderr=subprocess.STDOUT, start_new_session=True)
        self.wait_for_log("ready.", timeout=60)

    def log(self) -> str:
        return self.log_path.read_text()

    def wait_for_log(self, text: str, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if text in self.log():
                return
            if self.process.poll() is not None:
                raise RuntimeError(f"worker {self.name} exited:\n{self.log()[-3000:]}")
            time.sleep(0.1)
        raise TimeoutError(f"worker {self.name} never logged {text!r}:\n{self.log()[-3000:]}")

    def kill(self) -> None:
        """SIGKILL the whole process group: no cleanup, no goodbye, like a lost machine."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()
        self._log.close()
