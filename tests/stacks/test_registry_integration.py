"""The target plug-in point is real: a throw-away target from the test folder alone (the
in-process one of tests/fakes/memory_target.py; no edit to pipelines/ or validators/),
registered by name, named by a spec, and applied through the whole engine — offline gates, a
real Bento build and its signature check, staging, then production's canary with analysis on
the target's own counters, and promotion. Its slots score requests with the MLflow model their
release names."""

from __future__ import annotations

import functools
import shutil
from collections.abc import Iterator
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
from stacks.target import Slot, TargetInputs
from tests.fakes import memory_target
from tests.fakes.memory_target import Script, kind, registered
from validators.sources.registry import Registry

pytestmark = pytest.mark.integration

NAME = "in-process"


@functools.cache
def _model(mlflow_uri: str, uri: str) -> Any:
    registry_ = Registry(mlflow_uri)
    return registry_.load(registry_.resolve(uri))


def scorer(mlflow_uri: str) -> memory_target.Answer:
    """Answers as a served model would: its scores, or a 500 when it cannot score."""

    def answer(_slot: str | None, model: str, body: dict[str, Any]) -> tuple[int, Any]:
        try:
            scores = _model(mlflow_uri, model).score(pd.DataFrame(body["rows"]), "request")
        except Exception as exc:  # an answer the gates judge, as a server's 500 would be
            return 500, str(exc)
        return 200, [float(x) for x in scores]

    return answer


@pytest.fixture
def plugged(demo: tuple[Workspace, InitResult]) -> Iterator[Script]:
    ws, _ = demo
    with registered(scorer(ws.mlflow_uri), NAME) as script:
        yield script


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
    registry.register_target(kind(NAME))
    try:
        (finding, *_) = validate_paths([spec], ws.root).reports[0].findings
    finally:
        registry._TARGETS.pop(NAME, None)
    assert "expected one of local, kubernetes, aws, in-process" in finding.message
    assert finding.hint == "did you mean `in-process`?"


def test_a_target_registered_from_the_test_folder_takes_a_spec_to_production(
    demo: tuple[Workspace, InitResult], plugged: Script
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
        shutil.rmtree(ws.state / memory_target.NAME, ignore_errors=True)
    text = "\n".join(said)
    assert "plugin-target/production: canary of models:/credit-risk/" in text
    assert f"promoted models:/credit-risk/{retrained} after" in text
    assert plugged.served[("production", "canary")] >= 20
    assert plugged.errors[("production", "canary")] == 0
