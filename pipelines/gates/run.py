"""Run a spec's offline gates: data (Great Expectations), model metrics, champion/challenger
per environment, fairness and drift. Results are cached by (model version, data digests, gate
config digest), so `apply` reuses what `plan` computed.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipelines.core.workspace import Workspace
from validators.gates.result import Gate, GateResult, stopwatch
from validators.sources.datasets import DataError, LoadedData, read_dataset, require_columns
from validators.sources.registry import TRAINING_DATA_TAG, LoadedModel, ModelVersion, Registry
from validators.spec.model import ModelDeployment

if TYPE_CHECKING:
    import numpy as np

    from pipelines.gates.worker import DataGateWorker

CODE_VERSION = "gates/1"  # bump when a gate's computation changes, to drop cached results


@dataclass(frozen=True)
class GateRun:
    """The offline gates of one spec: what was measured, on which model and data."""

    spec: str
    model: str
    data: dict[str, str]
    results: list[GateResult]
    cached: bool = False
    key: str = ""

    @property
    def passed(self) -> bool:
        return all(r.passed and not r.error for r in self.results)

    @property
    def failed(self) -> list[GateResult]:
        return [r for r in self.results if not r.passed or r.error]


@dataclass
class _Inputs:
    version: ModelVersion
    evaluation: LoadedData
    reference: LoadedData | None
    champions: dict[str, ModelVersion] = field(default_factory=dict)


def run_offline_gates(spec: ModelDeployment, ws: Workspace, use_cache: bool = True) -> GateRun:
    registry = Registry(ws.mlflow_uri)
    # Likely to compute: start the data gate's worker now, so it imports Great Expectations
    # while this process imports MLflow to resolve the model (the cache key needs it).
    worker = _data_worker(spec, ws.root) if not (use_cache and _seen(spec, ws)) else None
    try:
        inputs = _inputs(spec, ws, registry)
        key = _cache_key(spec, ws.root, inputs)
        cache = ws.cache / "gates" / f"{key}.json"
        data = {d.label: d.digest for d in (inputs.evaluation, inputs.reference) if d is not None}
        if use_cache and cache.exists():
            stored = json.loads(cache.read_text(encoding="utf-8"))
            results = [GateResult.from_json(r) for r in stored["results"]]
            return GateRun(spec.metadata.name, inputs.version.uri, data, results, True, key)
        worker = worker or _data_worker(spec, ws.root)
        results = _evaluate(spec, ws.root, registry, inputs, worker)
    finally:
        if worker is not None:
            worker.close()
    cache.parent.mkdir(parents=True, exist_ok=True)
    cache.write_text(json.dumps({"results": [r.to_json() for r in results]}), encoding="utf-8")
    _seen_path(spec, ws).write_text(key, encoding="utf-8")
    return GateRun(spec.metadata.name, inputs.version.uri, data, results, False, key)


def _seen_path(spec: ModelDeployment, ws: Workspace) -> Path:
    """Names the cached result last computed for the spec (a hint for the next run)."""
    return ws.cache / "gates" / f"latest-{spec.metadata.name}"


def _seen(spec: ModelDeployment, ws: Workspace) -> bool:
    """Whether the spec's last computed result is still cached: then this run probably reuses
    a cached result too."""
    try:
        key = _seen_path(spec, ws).read_text(encoding="utf-8").strip()
    except OSError:
        return False
    return (ws.cache / "gates" / f"{key}.json").exists()


def _data_worker(spec: ModelDeployment, root: Path) -> DataGateWorker | None:
    from pipelines.gates.worker import DataGateWorker

    expectations = spec.data.expectations if spec.data else None
    return DataGateWorker.start(root / expectations) if expectations else None


def _inputs(spec: ModelDeployment, ws: Workspace, registry: Registry) -> _Inputs:
    if spec.data is None:
        raise DataError("data: the spec has no data section; offline gates need evaluation data")
    version = registry.resolve(spec.model.uri)
    ev = spec.data.evaluation
    evaluation = read_dataset(ws.root, ev.path, ev.rev, "data.evaluation")
    reference = reference_data(spec, ws.root, version)
    champions = {
        env.name: found
        for env in spec.environments
        if (found := registry.alias(version.name, env.name)) and found.version != version.version
    }
    return _Inputs(version, evaluation, reference, champions)


def reference_data(spec: ModelDeployment, root: Path, version: ModelVersion) -> LoadedData | None:
    """The spec's reference data, else the data the model version was trained on."""
    assert spec.data is not None
    if spec.data.reference is not None:
        ref = spec.data.reference
        return read_dataset(root, ref.path, ref.rev, "data.reference")
    recorded = version.tags.get(TRAINING_DATA_TAG)
    if not recorded:
        return None
    training = json.loads(recorded)
    data = read_dataset(root, training["path"], training.get("rev"), "data.reference")
    if training.get("sha256") and training["sha256"] != data.digest:
        raise DataError(
            f"data.reference: {training['path']} is not the data {version.uri} was trained on "
            "(its content changed since)",
            hint="set data.reference to the training data, pinned with `rev:`",
        )
    return data


def _cache_key(spec: ModelDeployment, root: Path, inputs: _Inputs) -> str:
    assert spec.data is not None
    suite = (root / spec.data.expectations) if spec.data.expectations else None
    material = {
        "code": CODE_VERSION,
        "model": [inputs.version.uri, inputs.version.run_id],
        "champions": {k: [v.uri, v.run_id] for k, v in sorted(inputs.champions.items())},
        "data": [inputs.evaluation.digest, inputs.reference.digest if inputs.reference else None],
        "spec": {
            "data": spec.data.model_dump(mode="json"),
            "gates": spec.gates.model_dump(mode="json") if spec.gates else None,
        },
        "suite": hashlib.sha256(suite.read_bytes()).hexdigest()
        if suite and suite.exists()
        else None,
    }
    return hashlib.sha256(json.dumps(material, sort_keys=True).encode()).hexdigest()[:32]


def _evaluate(
    spec: ModelDeployment,
    root: Path,
    registry: Registry,
    inputs: _Inputs,
    worker: DataGateWorker | None = None,
) -> list[GateResult]:
    """The data gate's results, then the model gates'. With a worker, the data gate runs
    there while this process runs the model gates."""
    assert spec.data is not None
    if not spec.data.expectations:
        return _model_side(spec, registry, inputs)
    if worker is None:
        return _data_gate(root / spec.data.expectations, inputs) + _model_side(
            spec, registry, inputs
        )
    worker.submit(_datasets(inputs))
    model_results = _model_side(spec, registry, inputs)
    data_results = worker.results()
    if data_results is None:  # the worker failed: run it here (raising its error, if any)
        data_results = _data_gate(root / spec.data.expectations, inputs)
    return data_results + model_results


def _model_side(spec: ModelDeployment, registry: Registry, inputs: _Inputs) -> list[GateResult]:
    """Model metrics, champion/challenger, fairness and drift: everything that needs the
    model's output."""
    results: list[GateResult] = []
    gates = spec.gates
    if gates is None or not (gates.model or gates.fairness or gates.drift):
        return results
    model = registry.load(inputs.version)
    output = model.score(inputs.evaluation.frame, "data.evaluation")
    if gates.model or gates.fairness:
        label = _label(spec, inputs.evaluation)
        results += _model_gates(spec, label, output, inputs, registry)
    if gates.drift:
        results.append(_drift(spec, model, inputs))
    return results


def _data_gate(suite_path: Path, inputs: _Inputs) -> list[GateResult]:
    from validators.gates.data import suite_results
    from validators.sources.expectations import load_suite

    return suite_results(load_suite(suite_path), _datasets(inputs))


def _datasets(inputs: _Inputs) -> list[tuple[str, LoadedData]]:
    pairs = (("evaluation", inputs.evaluation), ("reference", inputs.reference))
    return [(name, data) for name, data in pairs if data is not None]


def _label(spec: ModelDeployment, evaluation: LoadedData) -> np.ndarray[Any, Any]:
    import numpy as np

    assert spec.data is not None
    label = spec.data.label
    if label is None:
        raise DataError("data.label: model and fairness gates need the label column's name")
    require_columns(evaluation, [label], "data.label", "the label the model is scored against")
    return np.asarray(evaluation.frame[label], dtype=np.float64)


def _model_gates(
    spec: ModelDeployment,
    y: np.ndarray[Any, Any],
    output: np.ndarray[Any, Any],
    inputs: _Inputs,
    registry: Registry,
) -> list[GateResult]:
    from validators.gates.fairness import fairness_results
    from validators.gates.model import metric_results

    assert spec.gates is not None
    assert spec.data is not None
    results: list[GateResult] = []
    metric_gates = spec.gates.model or []
    with stopwatch() as t:
        measured = metric_results(y, output, metric_gates)
    results += [r.timed(t[0] / max(len(measured), 1)) for r in measured]
    if any(g.max_regression is not None for g in metric_gates):
        results += _champions(spec, y, output, inputs, registry)
    if spec.gates.fairness:
        features = spec.data.sensitive_features or []
        require_columns(inputs.evaluation, features, "data.sensitive_features", "fairness groups")
        labels = (output >= 0.5).astype(int)
        sensitive = inputs.evaluation.frame[features]
        results += fairness_results(y, labels, sensitive, spec.gates.fairness)
    return results


def _champions(
    spec: ModelDeployment,
    y: np.ndarray[Any, Any],
    output: np.ndarray[Any, Any],
    inputs: _Inputs,
    registry: Registry,
) -> list[GateResult]:
    from validators.gates.champion import champion_results

    assert spec.gates is not None
    assert spec.gates.model is not None
    results: list[GateResult] = []
    scored: dict[str, np.ndarray[Any, Any]] = {}
    for env in spec.environments:
        champion = inputs.champions.get(env.name)
        if champion is None:
            results.append(_no_champion(env.name, inputs.version))
            continue
        if champion.version not in scored:
            loaded: LoadedModel = registry.load(champion)
            scored[champion.version] = loaded.score(inputs.evaluation.frame, "data.evaluation")
        found = champion_results(
            y,
            scored[champion.version],
            output,
            spec.gates.model,
            f"v{champion.version}",
            f"v{inputs.version.version}",
        )
        results += [replace(r, name=f"{env.name}: {r.name}") for r in found]
    return results


def _no_champion(env: str, version: ModelVersion) -> GateResult:
    return GateResult(
        gate=Gate.CHAMPION,
        name=f"{env}: no champion",
        passed=True,
        measured=None,
        threshold=None,
        note=f"no version of {version.name} serves {env} yet (MLflow alias @{env}); "
        "max_regression applies once one does",
    )


def _drift(spec: ModelDeployment, model: LoadedModel, inputs: _Inputs) -> GateResult:
    from validators.gates.drift import drift_gate

    assert spec.gates is not None
    assert spec.gates.drift is not None
    if inputs.reference is None:
        return GateResult(
            gate=Gate.DRIFT,
            name="drift",
            passed=False,
            measured=None,
            threshold=spec.gates.drift.max,
            error=f"data.reference: not set, and {inputs.version.uri} records no training data "
            f"(tag {TRAINING_DATA_TAG}); set data.reference",
        )
    label = spec.data.label if spec.data else None
    columns = [c for c in (model.input_columns or inputs.evaluation.frame.columns) if c != label]
    with stopwatch() as t:
        result = drift_gate(
            inputs.reference.frame[columns], inputs.evaluation.frame[columns], spec.gates.drift
        )
    return result.timed(t[0])
