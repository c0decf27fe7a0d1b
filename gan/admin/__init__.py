"""Admin of the gan app, one module per concern."""
from . import class_maps, datasets, results, training  # noqa: F401
