"""ORM models of the gan app, one concept per module (jobs.models.Job is the engine's)."""
from .dataset import Dataset, Pair, PairStatus, Split
from .evaluation import Evaluation, ImageSource, Metric, SuiteMetric
from .figure import Figure, FigureKind
from .generation import GeneratedImage
from .ingest import ClassMap, ImportRecord, ImportStatus
from .suite import CellStatus, SuiteCell, SuiteUpperBound
from .training import Checkpoint, RunStatus, TrainingRun
from .try_sound import TrySound

__all__ = ["CellStatus", "Checkpoint", "ClassMap", "Dataset", "Evaluation", "Figure", "FigureKind", "GeneratedImage",
           "ImageSource", "ImportRecord", "ImportStatus", "Metric", "Pair", "PairStatus", "RunStatus", "Split",
           "SuiteCell", "SuiteMetric", "SuiteUpperBound", "TrainingRun", "TrySound"]
