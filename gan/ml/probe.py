"""The linear-probe ceiling: how well the sound features alone separate the classes.

A logistic regression trained on the training sounds' feature vectors, scored on other splits. No
generator can map sounds to the right class more often than their features allow, so a GAN's class
consistency is read beside this figure, on the same split. scikit-learn does the fitting.
"""
from __future__ import annotations

import numpy as np

from .intervals import wilson_interval


def linear_probe(train_x: np.ndarray, train_y: np.ndarray, tests: dict[str, tuple[np.ndarray, np.ndarray]],
                 regularisation: float = 1.0, seed: int = 0) -> dict[str, dict]:
    """Fit standardised features -> class on the training set; accuracy on each named test set,
    with n and a 95% Wilson interval."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    train_x, train_y = np.asarray(train_x, dtype=np.float64), np.asarray(train_y)
    if train_x.ndim != 2 or len(train_x) != len(train_y):
        raise ValueError(f"training features {train_x.shape} and labels {train_y.shape} do not match")
    if len(np.unique(train_y)) < 2:
        raise ValueError("the probe needs training sounds of at least 2 classes")
    model = make_pipeline(StandardScaler(), LogisticRegression(C=regularisation, max_iter=5000, random_state=seed))
    model.fit(train_x, train_y)
    out = {}
    for name, (x, y) in tests.items():
        if len(y) == 0:
            continue
        correct = int((model.predict(np.asarray(x, dtype=np.float64)) == np.asarray(y)).sum())
        low, high = wilson_interval(correct, len(y))
        out[name] = {"accuracy": correct / len(y), "n": int(len(y)), "ci": [low, high]}
    return out
