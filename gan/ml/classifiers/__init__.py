"""Image classifiers for cleaning and scoring, all behind one interface (:class:`ImageClassifier`):
``predict_proba(images uint8 NHWC/NCHW, batch_size, device) -> (N, K)`` and ``class_names``.

Importing this package loads no weights and touches no GPU; the loaders do the work when called:
``load_efficientnet_lite0``, ``load_inception_v3`` (local file only), ``train_domain_classifier`` /
``load_domain_classifier``, and ``load_fid_feature_extractor`` for FID features.
"""
from .base import ImageBatchError, ImageClassifier, composite_rgba, to_nchw_uint8
from .domain_classifier import DomainClassifier, load_domain_classifier, train_domain_classifier
from ..imagenet_classes import imagenet_class_names
from .efficientnet_lite import EfficientNetLite0Classifier, load_efficientnet_lite0
from .fid_features import FIDFeatureExtractor, load_fid_feature_extractor
from .inception import WeightsInvalid, WeightsMissing, load_inception_v3

__all__ = [
    "DomainClassifier", "EfficientNetLite0Classifier", "FIDFeatureExtractor", "ImageBatchError",
    "ImageClassifier", "WeightsInvalid", "WeightsMissing", "composite_rgba", "imagenet_class_names",
    "load_domain_classifier", "load_efficientnet_lite0", "load_fid_feature_extractor", "load_inception_v3",
    "train_domain_classifier", "to_nchw_uint8",
]
