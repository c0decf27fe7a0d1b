"""Admin of the gan app, one module per concern."""
from . import jobs  # noqa: F401
