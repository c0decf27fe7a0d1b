"""ORM models of the gan app, one concept per module."""
from .job import FINISHED_STATUSES, Job, JobStatus, Queue

__all__ = ["FINISHED_STATUSES", "Job", "JobStatus", "Queue"]
