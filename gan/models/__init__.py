"""ORM models of the gan app, one concept per module."""
from .data import Dataset, Pair, PairStatus, Split
from .generation import GeneratedImage
from .job import FINISHED_STATUSES, Job, JobStatus, Queue
from .training import Checkpoint, TrainingRun

__all__ = ["Checkpoint", "Dataset", "FINISHED_STATUSES", "GeneratedImage", "Job", "JobStatus",
           "Pair", "PairStatus", "Queue", "Split", "TrainingRun"]
