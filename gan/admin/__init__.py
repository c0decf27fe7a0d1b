"""Admin of the gan app, one module per concern."""
from . import class_maps, datasets, results, training, try_sound  # noqa: F401
