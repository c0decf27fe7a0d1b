"""Admin of the gan app, one module per concern."""
from . import datasets, jobs  # noqa: F401
