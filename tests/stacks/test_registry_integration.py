"""The target plug-in point is real: a throw-away target defined here, in the test folder
alone (no edit to pipelines/ or validators/), registered by name, named by a spec, and applied
through the whole engine — offline gates, a real Bento build and its signature check, staging,
then production's canary with analysis on the target's own metrics, and promotion.

The target serves in-process: each slot scores requests with the MLflow model its release
names, counts what it served (requests, 5xx, a latency histogram) for its metrics source, and
keeps its desired state in a JSON file under the project's `.shipyard/`."""

from __future__ import annotations

import functools
import random
import shutil
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from pipelines.core.outcomes import Outcome
from pipelines.core.workspace import Workspace
from pipelines.demo.init import InitResult
from pipelines.release.context import ApplyOptions
from pipelines.release.project import apply_paths
from stacks import registry
from stacks.desired import Desired
from stacks.reach.client import LoadReport, nearest_rank
from stacks.reach.metrics import CounterSource, SlotSample
from stacks.slot_moves import SlotMoves
from stacks.target import (
    PreviewSummary,
    Release,
    Slot,
    SlotState,
    TargetInputs,
    TargetKind,
    TargetState,
)
from validators.sources.registry import Registry

pytestmark = pytest.mark.integration

NAME = "in-process"
BUCKETS = (0.005, 0.05, 0.5, 5.0, float("inf"))


@dataclass
class Served:
    """What one slot served, as cumulative counters."""

    requests: int = 0
    errors: int = 0
    buckets: list[int] = field(default_factory=lambda: [0] * len(BUCKETS))

    def record(self, status: int, seconds: float) -> None:
        self.requests += 1
        self.errors += status >= 500
        for i, le in enumerate(BUCKETS):
            self.buckets[i] += seconds <= le


SERVED: dict[tuple[str, str, str], Served] = {}
LOCK = threading.Lock()


@dataclass(frozen=True)
class InProcessConfig:
    spec: str
    environment: str
    state_file: Path
    mlflow_uri: str


def config_from(inputs: TargetInputs) -> InProcessConfig:
    state = inputs.state_dir / NAME / f"{inputs.spec}-{inputs.environment}.json"
    return InProcessConfig(
        inputs.spec, inputs.environment, state, Workspace.at(inputs.state_dir.parent).mlflow_uri
    )


@functools.cache
def _model(mlflow_uri: str, uri: str) -> Any:
    registry_ = Registry(mlflow_uri)
    return registry_.load(registry_.resolve(uri))


@dataclass(frozen=True)
class SlotScorer:
    """A slot's client: scores `rows` with its release's model, in this process."""

    config: InProcessConfig
    slot: str
    model: str

    @property
    def address(self) -> str:
        return f"{NAME}://{self.config.spec}/{self.config.environment}/{self.slot}"

    def post(self, api: str, body: dict[str, Any]) -> tuple[int, Any]:
        started = time.perf_counter()
        try:
            model = _model(self.config.mlflow_uri, self.model)
            answer: Any = [float(x) for x in model.score(pd.DataFrame(body["rows"]), "request")]
            status = 200
        except Exception as exc:  # an answer the gates judge, as a server's 500 would be
            answer, status = str(exc), 500
        with LOCK:
            key = (self.config.spec, self.config.environment, self.slot)
            SERVED.setdefault(key, Served()).record(status, time.perf_counter() - started)
        return status, answer

    def ready(self) -> bool:
        return True

    def load(self, api: str, body: dict[str, Any], rps: float, duration_s: float) -> LoadReport:
        began, latencies, statuses = time.monotonic(), [], []
        for i in range(max(1, round(rps * duration_s))):
            time.sleep(max(0.0, began + i / rps - time.monotonic()))
            start = time.perf_counter()
            statuses.append(str(self.post(api, body)[0]))
            latencies.append(time.perf_counter() - start)
        ordered = sorted(latencies)
        return LoadReport(
            requests=len(statuses),
            rps=len(statuses) / (time.monotonic() - began),
            p50_ms=1000 * nearest_rank(ordered, 0.5),
            p95_ms=1000 * nearest_rank(ordered, 0.95),
            p99_ms=1000 * nearest_rank(ordered, 0.99),
            statuses={s: statuses.count(s) for s in set(statuses)},
            errors=0,
        )

    def capacity(self) -> LoadReport | None:
        return None


@dataclass(frozen=True)
class Split:
    """The environment's endpoint: each request to one slot, chosen by the weights in
    effect when it is sent."""

    target: InProcessTarget
    pick: random.Random = field(default_factory=lambda: random.Random(7))

    @property
    def address(self) -> str:
        return f"{NAME}://{self.target.config.spec}/{self.target.config.environment}"

    def _slots(self) -> dict[str, tuple[SlotScorer, int]]:
        desired = self.target.desired()
        return {
            s: (self.target._scorer(s, release["model"]), int(desired.weights.get(s, 0)))
            for s, release in desired.slots.items()
        }

    def post(self, api: str, body: dict[str, Any]) -> tuple[int, Any]:
        slots = self._slots()
        clients = [client for client, _ in slots.values()]
        weights = [weight for _, weight in slots.values()]
        return self.pick.choices(clients, weights)[0].post(api, body)

    def ready(self) -> bool:
        return bool(self._slots())

    def load(self, api: str, body: dict[str, Any], rps: float, duration_s: float) -> LoadReport:
        return next(iter(self._slots().values()))[0].load(api, body, rps, duration_s)

    def capacity(self) -> LoadReport | None:
        return None


class Counters(CounterSource):
    def __init__(self, key: tuple[str, str, str]) -> None:
        self.key = key

    @property
    def address(self) -> str:
        return "/".join(self.key)

    def counters(self, endpoint: str) -> SlotSample:
        with LOCK:
            served = SERVED.get(self.key, Served())
            return SlotSample(
                served.requests, served.errors, tuple(zip(BUCKETS, served.buckets, strict=True))
            )


class InProcessTarget(SlotMoves):
    name = NAME

    def __init__(self, config: InProcessConfig) -> None:
        self.config = config

    def desired(self) -> Desired:
        return Desired.load(self.config.state_file)

    def _apply(self, desired: Desired) -> None:
        desired.save(self.config.state_file)

    def set_weights(self, weights: dict[Slot, int]) -> None:
        self._apply(self._with_weights(weights))

    def _slot_state(self, slot: Slot, desired: Desired, weight: int) -> SlotState:
        release = desired.slots[slot.value]
        url = self._scorer(slot.value, release["model"]).address
        return SlotState(slot, Release(release["bento"], release["model"]), url, url, weight)

    def state(self) -> TargetState:
        desired = self.desired()
        slots = {
            Slot(s): self._slot_state(Slot(s), desired, int(desired.weights.get(s, 0)))
            for s in desired.slots
        }
        endpoint = f"{NAME}://{self.config.spec}/{self.config.environment}" if slots else None
        return TargetState(endpoint, slots)

    def _scorer(self, slot: str, model: str) -> SlotScorer:
        return SlotScorer(self.config, slot, model)

    def slot_client(self, slot: Slot | None) -> SlotScorer | Split:
        desired = self.desired()
        if slot is not None:
            return self._scorer(slot.value, desired.slots[slot.value]["model"])
        return Split(self)

    def metrics(self, slot: Slot) -> Counters:
        return Counters((self.config.spec, self.config.environment, slot.value))

    def preview(self, slot: Slot, release: Release) -> PreviewSummary:
        return PreviewSummary({"update" if self.desired().slots else "create": 1}, [])

    def destroy(self) -> None:
        self.config.state_file.unlink(missing_ok=True)


@pytest.fixture
def plugged() -> Iterator[None]:
    registry.register_target(TargetKind(NAME, config_from, InProcessTarget))
    try:
        yield
    finally:
        registry._TARGETS.pop(NAME, None)


SPEC = """\
apiVersion: shipyard/v1
kind: ModelDeployment
metadata: {{name: plugin-target, owners: ["@risk-ml"]}}
model: {{uri: "models:/credit-risk/{version}"}}
data:
  evaluation: {{path: data/credit/holdout.csv}}
  label: default
  expectations: validators/suites/credit.yaml
gates:
  model: [{{metric: roc_auc, min: 0.80, max_regression: 0.04}}]
environments:
  - {{name: staging, target: {target}}}
  - name: production
    target: {target}
    rollout:
      steps: [{{weight: 50}}, {{pause: 4s}}, {{weight: 100}}]
      analysis: {{interval: 1s, failure_limit: 1, min_requests: 20}}
"""


def test_an_unregistered_target_is_refused_at_its_line(
    demo: tuple[Workspace, InitResult], tmp_path: Path
) -> None:
    from pipelines.core.specs import validate_paths

    ws, _ = demo
    spec = tmp_path / "typo.yaml"
    spec.write_text(SPEC.format(version=1, target="in-proces"), encoding="utf-8")
    (finding, *_) = validate_paths([spec], ws.root).reports[0].findings
    assert finding.path == "environments[0].target"
    assert 'expected one of local, kubernetes, aws, found string "in-proces"' in finding.message
    assert (finding.line, finding.column) == (12, 29)
    registry.register_target(TargetKind(NAME, config_from, InProcessTarget))
    try:
        (finding, *_) = validate_paths([spec], ws.root).reports[0].findings
    finally:
        registry._TARGETS.pop(NAME, None)
    assert "expected one of local, kubernetes, aws, in-process" in finding.message
    assert finding.hint == "did you mean `in-process`?"


def test_a_target_registered_from_the_test_folder_takes_a_spec_to_production(
    demo: tuple[Workspace, InitResult], plugged: None
) -> None:
    ws, init = demo
    spec_file = ws.root / "plugin" / "plugin-target.yaml"
    spec_file.parent.mkdir(exist_ok=True)
    said: list[str] = []
    options = ApplyOptions(traffic_rps=40)
    try:
        spec_file.write_text(SPEC.format(version=init.versions["good"], target=NAME))
        first = apply_paths([spec_file], ws.root, options, said.append).specs[0]
        assert first.outcome == Outcome.PROMOTED, "\n".join(said)
        assert [e.outcome for e in first.envs] == [Outcome.PROMOTED, Outcome.PROMOTED]

        retrained = Registry(ws.mlflow_uri).register_copy("credit-risk", init.versions["good"])
        spec_file.write_text(SPEC.format(version=retrained, target=NAME))
        second = apply_paths([spec_file], ws.root, options, said.append).specs[0]
        assert second.outcome == Outcome.PROMOTED, "\n".join(said)
        production = registry.target_kind(NAME).create(
            TargetInputs("plugin-target", "production", ws.state, ws.bentoml_home)
        )
        slots = production.state().slots
        assert list(slots) == [Slot.STABLE]
        assert slots[Slot.STABLE].release.model == f"models:/credit-risk/{retrained}"
        assert slots[Slot.STABLE].weight == 100
    finally:
        shutil.rmtree(ws.state / NAME, ignore_errors=True)
    text = "\n".join(said)
    assert "plugin-target/production: canary of models:/credit-risk/" in text
    assert f"promoted models:/credit-risk/{retrained} after" in text
    served = SERVED[("plugin-target", "production", "canary")]
    assert served.requests >= 20
    assert served.errors == 0
