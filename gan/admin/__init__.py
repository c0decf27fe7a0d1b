"""Admin of the gan app, one module per concern."""
from . import datasets, results, training  # noqa: F401
