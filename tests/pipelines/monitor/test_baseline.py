"""What live traffic is compared with: a spec without data has no baseline, and the offline
figures are the spec's model metrics on the evaluation data (literal frames here)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from pipelines.core.workspace import Workspace
from pipelines.monitor.baseline import Baseline, _offline, load_baseline
from validators.gates.drift import FeatureProfile, Profile
from validators.sources.datasets import DataError
from validators.spec.model import ModelDeployment

SPEC: dict[str, Any] = {
    "apiVersion": "shipyard/v1",
    "kind": "ModelDeployment",
    "metadata": {"name": "credit", "owners": ["@ml"]},
    "model": {"uri": "models:/credit/1"},
    "environments": [{"name": "production", "target": "local"}],
}
EVALUATION = pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0], "default": [0, 0, 1, 1]})
SCORES = np.array([0.1, 0.6, 0.7, 0.9])


def spec(**sections: Any) -> ModelDeployment:
    return ModelDeployment.model_validate({**SPEC, **sections})


def test_a_spec_without_data_has_no_baseline(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"^data: the spec has no data section") as caught:
        load_baseline(spec(), "models:/credit/1", Workspace.at(tmp_path))
    assert caught.value.hint == "set data.evaluation (and data.reference) as for the offline gates"
    assert not (tmp_path / ".shipyard").exists(), "no registry is opened"


def test_the_offline_figures_are_the_model_gates_metrics_on_the_evaluation_data() -> None:
    gated = spec(
        data={"evaluation": {"path": "data/holdout.csv"}, "label": "default"},
        gates={"model": [{"metric": "accuracy", "min": 0.7}, {"metric": "roc_auc", "min": 0.8}]},
    )
    offline = _offline(gated, EVALUATION, SCORES)
    assert offline == {"accuracy": 0.75, "roc_auc": 1.0}


@pytest.mark.parametrize(
    "sections",
    [
        {"data": {"evaluation": {"path": "d.csv"}, "label": "default"}},  # no model gate
        {  # no label
            "data": {"evaluation": {"path": "d.csv"}},
            "gates": {"model": [{"metric": "accuracy", "min": 0.7}]},
        },
        {  # a label the data does not have
            "data": {"evaluation": {"path": "d.csv"}, "label": "target"},
            "gates": {"model": [{"metric": "accuracy", "min": 0.7}]},
        },
    ],
)
def test_no_offline_figures_without_gates_or_labels(sections: dict[str, Any]) -> None:
    assert _offline(spec(**sections), EVALUATION, SCORES) == {}


def test_the_kinds_are_those_of_the_reference_profile() -> None:
    reference = pd.DataFrame({"x": np.linspace(0, 1, 50), "colour": ["red", "blue"] * 25})
    output = pd.DataFrame({"output": np.linspace(0, 1, 50)})
    baseline = Baseline(
        "models:/credit/1",
        ["x", "colour"],
        Profile.from_frame(reference, ["x", "colour"]),
        reference,
        FeatureProfile.build(output["output"]),
        output,
        {},
        {},
    )
    assert baseline.kinds == {"x": "numeric", "colour": "categorical"}
    assert math.isclose(float(baseline.outputs["output"].mean()), 0.5)
