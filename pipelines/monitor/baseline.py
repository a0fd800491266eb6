"""What live traffic is compared with: the reference data's drift profile (the offline drift
gate's reference: `data.reference`, else the model version's training data), the model's
output on the evaluation data, and the spec's model metrics on it (the offline figures)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from pipelines.core.workspace import Workspace
from pipelines.gates.run import reference_data
from validators.gates.drift import FeatureProfile, Profile
from validators.gates.metrics import metric
from validators.sources.datasets import DataError, read_dataset
from validators.sources.registry import Registry
from validators.spec.model import ModelDeployment

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd
    from numpy.typing import NDArray


@dataclass(frozen=True)
class Baseline:
    """The reference profile (and frame, for KS/Wasserstein), the evaluation outputs' profile,
    the offline metric values, and where each came from."""

    model: str
    columns: list[str]
    profile: Profile
    reference: pd.DataFrame
    output: FeatureProfile
    outputs: pd.DataFrame  # the model's output on the evaluation data, column `output`
    offline: dict[str, float]
    data: dict[str, str]  # data label -> sha256

    @property
    def kinds(self) -> dict[str, str]:
        return {name: fp.kind for name, fp in self.profile.features.items()}


def load_baseline(spec: ModelDeployment, model_uri: str, ws: Workspace) -> Baseline:
    """The baseline of `model_uri` (the release running) under `spec`'s data section."""
    import numpy as np
    import pandas as pd

    if spec.data is None:
        raise DataError(
            "data: the spec has no data section; monitoring compares live traffic with it",
            hint="set data.evaluation (and data.reference) as for the offline gates",
        )
    registry = Registry(ws.mlflow_uri)
    version = registry.resolve(model_uri)
    reference = reference_data(spec, ws.root, version)
    if reference is None:
        raise DataError(
            f"data.reference: not set, and {version.uri} records no training data; "
            "live drift needs reference data",
            hint="set data.reference to the data the model was trained on",
        )
    ev = spec.data.evaluation
    evaluation = read_dataset(ws.root, ev.path, ev.rev, "data.evaluation")
    model = registry.load(version)
    label = spec.data.label
    columns = [c for c in (model.input_columns or evaluation.frame.columns) if c != label]
    columns = [c for c in columns if c in reference.frame.columns]
    outputs = model.score(evaluation.frame, "data.evaluation")
    output_frame = pd.DataFrame({"output": outputs})
    return Baseline(
        model=version.uri,
        columns=columns,
        profile=Profile.from_frame(reference.frame[columns], columns),
        reference=reference.frame[columns],
        output=FeatureProfile.build(output_frame["output"]),
        outputs=output_frame,
        offline=_offline(spec, evaluation.frame, np.asarray(outputs, dtype=np.float64)),
        data={d.label: d.digest for d in (evaluation, reference)},
    )


def _offline(
    spec: ModelDeployment, evaluation: pd.DataFrame, outputs: NDArray[np.float64]
) -> dict[str, float]:
    import numpy as np

    gates = spec.gates.model if spec.gates and spec.gates.model else []
    label = spec.data.label if spec.data else None
    if not gates or label is None or label not in evaluation.columns:
        return {}
    y = np.asarray(evaluation[label], dtype=np.float64)
    return {g.metric: metric(g.metric)(y, outputs) for g in gates}
