"""Image classifiers for cleaning and scoring, all behind one interface (:class:`ImageClassifier`).

Importing this package loads no weights and touches no GPU; the loaders do the work when called.
"""
from .base import ImageBatchError, ImageClassifier, composite_rgba, to_nchw_uint8

__all__ = ["ImageBatchError", "ImageClassifier", "composite_rgba", "to_nchw_uint8"]
