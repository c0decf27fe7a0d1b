"""Admin of the gan app, one module per concern."""
from . import class_maps, datasets, results, suite, training, try_sound  # noqa: F401
