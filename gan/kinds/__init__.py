"""The gan app's job kinds: name, queue, params dataclass, label, and where the body lives.

Imported at startup (GanConfig.ready), so the admin's launch form and the worker know every kind.
Only the params dataclasses are imported here (from the services that launch each kind); a body
(the modules of this package) is imported by the worker the first time a job of its kind runs, so
the web tier never loads PyTorch.

Queues: `gpu` for what runs networks, `cpu` for imports and the suite's parent (which only waits).
"""
from jobs.registry import register_kind

from ..services.cleaning import CleanParams
from ..services.generation import GenerateParams
from ..services.ingest import VideoImportParams
from ..services.manifest_import import ManifestImportParams
from ..services.scoring import EvaluateParams
from ..services.splitting import SplitParams
from ..services.suite import SuiteParams
from ..services.training import TrainParams
from ..services.try_sound import TrySoundParams

register_kind("train", run="gan.kinds.train:run_training", queue="gpu", params=TrainParams,
              label="Train a GAN (one Table 4 row)")
register_kind("generate", run="gan.kinds.generate:run_generation", queue="gpu", params=GenerateParams,
              label="Generate images from sounds")
register_kind("evaluate", run="gan.kinds.evaluate:run_evaluation", queue="gpu", params=EvaluateParams,
              label="Score images (IS, FID, class consistency)")
register_kind("suite", run="gan.kinds.suite:run_suite", queue="cpu", params=SuiteParams,
              label="Paper experiment suite (Tables 2-4, Fig. 2)")
register_kind("clean", run="gan.kinds.clean:run_cleaning", queue="gpu", params=CleanParams,
              label="Clean a dataset (SoundNet vs image classifier)")
register_kind("split_dataset", run="gan.kinds.split:run_split", queue="cpu", params=SplitParams,
              label="Split a dataset into train/test by source")
register_kind("import_videos", run="gan.kinds.import_videos:run_video_import", queue="cpu",
              params=VideoImportParams, label="Import videos (frames + sound)")
register_kind("import_manifest", run="gan.kinds.import_manifest:run_manifest_import", queue="cpu",
              params=ManifestImportParams, label="Import a CSV manifest of sound/image files")
register_kind("try_sound", run="gan.kinds.try_sound:run_try_sound", queue="gpu", params=TrySoundParams,
              label="Try it: images from an uploaded sound")
