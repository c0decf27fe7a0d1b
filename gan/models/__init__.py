"""ORM models of the gan app, one concept per module."""
from .data import Dataset, Pair, PairStatus, Split
from .evaluation import Evaluation, ImageSource, Metric
from .generation import GeneratedImage
from .ingest import ClassMap, ImportRecord, ImportStatus
from .job import FINISHED_STATUSES, Job, JobStatus, Queue
from .training import Checkpoint, TrainingRun

__all__ = ["Checkpoint", "ClassMap", "Dataset", "Evaluation", "FINISHED_STATUSES", "GeneratedImage", "ImageSource",
           "ImportRecord", "ImportStatus", "Job", "JobStatus", "Metric", "Pair", "PairStatus", "Queue", "Split", "TrainingRun"]
