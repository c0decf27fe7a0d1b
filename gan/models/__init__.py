"""ORM models of the gan app, one concept per module (jobs.models.Job is the engine's)."""
from .dataset import Dataset, Pair, PairStatus, Split
from .evaluation import Evaluation, ImageSource, Metric
from .generation import GeneratedImage
from .ingest import ClassMap, ImportRecord, ImportStatus
from .training import Checkpoint, RunStatus, TrainingRun
from .try_sound import TrySound

__all__ = ["Checkpoint", "ClassMap", "Dataset", "Evaluation", "GeneratedImage", "ImageSource", "ImportRecord",
           "ImportStatus", "Metric", "Pair", "PairStatus", "RunStatus", "Split", "TrainingRun",
           "TrySound"]
