"""Thin Celery tasks: take an id, call the engine. All state lives in the Job row."""
from celery import shared_task
from celery.signals import worker_ready
from django.db import close_old_connections

from . import jobs


@shared_task(name="gan.tasks.run_job", bind=True, ignore_result=True)
def run_job(self, job_id: int) -> str:
    close_old_connections()  # like a request: start on a healthy connection
    try:
        return jobs.execute_job(int(job_id), worker=self.request.hostname or "worker")
    finally:
        close_old_connections()


@shared_task(name="gan.tasks.reap_stale_jobs", ignore_result=True)
def reap_stale_jobs() -> int:
    return len(jobs.reap_stale_jobs())


@worker_ready.connect
def reap_at_worker_start(**_):
    """A worker that (re)starts after a crash picks up what the crash left in RUNNING."""
    jobs.reap_stale_jobs()


@shared_task(name="gan.tasks.ping")
def ping() -> str:
    """A bare task: health checks ("is a worker on this queue alive?") and the overhead benchmark."""
    return "pong"
