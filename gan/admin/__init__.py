"""Admin of the gan app, one module per concern."""
from . import datasets, jobs, results, training  # noqa: F401
