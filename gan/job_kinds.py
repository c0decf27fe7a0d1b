"""Importing this module registers every job kind (each module registers its own on import)."""
from . import selfcheck  # noqa: F401
from .services import generation, scoring, suite, training  # noqa: F401  (models and scores)
from .services import cleaning, ingest, splitting  # noqa: F401  (data: import, clean, split)
