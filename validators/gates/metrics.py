"""Model metrics by name. Each takes the true labels and the model's output: for
classification the probability of the positive class (labels use a 0.5 cut-off), for
regression the predicted values."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

Array = NDArray[np.float64]
THRESHOLD = 0.5


def _labels(scores: Array) -> Array:
    return (scores >= THRESHOLD).astype(np.float64)


def _accuracy(y: Array, s: Array) -> float:
    return float(np.mean(_labels(s) == y))


def _precision(y: Array, s: Array) -> float:
    predicted = _labels(s)
    positives = predicted.sum()
    return float((predicted * y).sum() / positives) if positives else 0.0


def _recall(y: Array, s: Array) -> float:
    actual = y.sum()
    return float((_labels(s) * y).sum() / actual) if actual else 0.0


def _f1(y: Array, s: Array) -> float:
    p, r = _precision(y, s), _recall(y, s)
    return 2 * p * r / (p + r) if p + r else 0.0


def _roc_auc(y: Array, s: Array) -> float:
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(y, s)) if len(np.unique(y)) == 2 else float("nan")


def _log_loss(y: Array, s: Array) -> float:
    clipped = np.clip(s, 1e-15, 1 - 1e-15)
    return float(-np.mean(y * np.log(clipped) + (1 - y) * np.log(1 - clipped)))


def _rmse(y: Array, s: Array) -> float:
    return float(np.sqrt(np.mean((y - s) ** 2)))


def _mae(y: Array, s: Array) -> float:
    return float(np.mean(np.abs(y - s)))


def _r2(y: Array, s: Array) -> float:
    total = float(np.sum((y - np.mean(y)) ** 2))
    return 1 - float(np.sum((y - s) ** 2)) / total if total else float("nan")


@dataclass(frozen=True)
class Metric:
    name: str
    fn: Callable[[Array, Array], float]
    higher_is_better: bool
    classification: bool

    def __call__(self, y_true: Array, output: Array) -> float:
        return self.fn(np.asarray(y_true, dtype=np.float64), np.asarray(output, dtype=np.float64))

    def regression_of(self, champion: float, challenger: float) -> float:
        """How much worse the challenger is (positive = worse), in the metric's units."""
        return champion - challenger if self.higher_is_better else challenger - champion


METRICS: dict[str, Metric] = {
    m.name: m
    for m in (
        Metric("accuracy", _accuracy, True, True),
        Metric("precision", _precision, True, True),
        Metric("recall", _recall, True, True),
        Metric("f1", _f1, True, True),
        Metric("roc_auc", _roc_auc, True, True),
        Metric("log_loss", _log_loss, False, True),
        Metric("rmse", _rmse, False, False),
        Metric("mae", _mae, False, False),
        Metric("r2", _r2, True, False),
    )
}


def metric(name: str) -> Metric:
    """The metric called `name`; an unknown name lists the known ones."""
    try:
        return METRICS[name]
    except KeyError:
        raise KeyError(f"unknown metric {name!r}; known: {', '.join(METRICS)}") from None
