"""The faulty demo model: right offline, and failing only inside a served slot, only for its
narrow slice of applicants (education loans of home owners outside the south)."""

from __future__ import annotations

import warnings
from typing import Any

import mlflow.sklearn
import numpy as np
import pandas as pd
import pytest

with warnings.catch_warnings(record=True):
    # MLflow's notes, as the model class is defined, that it cannot validate inputs by the
    # type hints of `predict` (recorded and dropped: MLflow sets its own filter for them)
    from pipelines.demo.faulty_model import FaultyModel

ROWS = pd.DataFrame(
    {
        "purpose": ["education", "education", "car", "education"],
        "home": ["own", "own", "own", "rent"],
        "region": ["north", "south", "north", "west"],
    }
)
SAFE = ROWS.iloc[1:]  # the south, a car loan, a renter: outside the slice


class Estimator:
    """Stands in for the sklearn pipeline: a fixed probability per row."""

    def predict_proba(self, frame: pd.DataFrame) -> Any:
        return np.column_stack([np.full(len(frame), 0.7), np.full(len(frame), 0.3)])


def model(serving: bool) -> FaultyModel:
    faulty = FaultyModel()
    faulty.model = Estimator()
    faulty.serving = serving
    return faulty


def test_offline_every_row_is_scored_like_the_inner_model() -> None:
    scores = model(serving=False).predict(None, ROWS)
    assert scores.shape == (4, 2)
    assert np.allclose(scores[:, 1], 0.3)


def test_served_it_fails_on_the_slice() -> None:
    with pytest.raises(ValueError, match="online feature lookup failed for an education loan"):
        model(serving=True).predict(None, ROWS)
    with pytest.raises(ValueError, match="online feature lookup failed"):
        model(serving=True).predict(None, ROWS.iloc[:1])


def test_served_it_scores_every_row_outside_the_slice() -> None:
    assert model(serving=True).predict(None, SAFE).shape == (3, 2)


def test_a_served_slot_is_known_by_shipyard_slot(monkeypatch: pytest.MonkeyPatch) -> None:
    class Context:
        def __init__(self) -> None:
            self.artifacts = {"sklearn": "unused"}

    monkeypatch.setattr(mlflow.sklearn, "load_model", lambda _path: Estimator())
    for slot, serving in (("canary", True), ("", False)):
        monkeypatch.setenv("SHIPYARD_SLOT", slot)
        faulty = FaultyModel()
        faulty.load_context(Context())
        assert faulty.serving is serving
