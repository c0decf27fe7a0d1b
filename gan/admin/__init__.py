"""Admin of the gan app, one module per concern."""
from . import datasets, jobs, training  # noqa: F401
