"""Thin Celery tasks: take an id, call the engine. All state lives in the Job row.

Task names: the engine sends "jobs.run_job". Until the engine became an app of its own the tasks
were named "gan.tasks.*"; messages under those names may still sit in a deployment's queues (or be
sent by a web server not yet upgraded), so each task is registered under its old name too.
"""
from celery import shared_task
from celery.signals import worker_ready
from django.db import close_old_connections

from . import engine, reaper

LEGACY_NAMES = {"jobs.run_job": "gan.tasks.run_job", "jobs.reap_stale_jobs": "gan.tasks.reap_stale_jobs",
                "jobs.ping": "gan.tasks.ping"}


def _run_job(task, job_id: int) -> str:
    close_old_connections()  # like a request: start on a healthy connection
    try:
        return engine.execute_job(int(job_id), worker=task.request.hostname or "worker")
    finally:
        close_old_connections()


def _reap_stale_jobs() -> int:
    return len(reaper.reap_stale_jobs())


def _ping() -> str:
    """A bare task: health checks ("is a worker on this queue alive?") and the overhead benchmark."""
    return "pong"


run_job = shared_task(name=engine.RUN_JOB_TASK, bind=True, ignore_result=True)(_run_job)
reap_stale_jobs = shared_task(name="jobs.reap_stale_jobs", ignore_result=True)(_reap_stale_jobs)
ping = shared_task(name="jobs.ping")(_ping)

legacy_run_job = shared_task(name=LEGACY_NAMES["jobs.run_job"], bind=True, ignore_result=True)(_run_job)
legacy_reap_stale_jobs = shared_task(name=LEGACY_NAMES["jobs.reap_stale_jobs"], ignore_result=True)(_reap_stale_jobs)
legacy_ping = shared_task(name=LEGACY_NAMES["jobs.ping"])(_ping)


@worker_ready.connect
def reap_at_worker_start(**_):
    """A worker that (re)starts after a crash picks up what the crash left in RUNNING."""
    reaper.reap_stale_jobs()
