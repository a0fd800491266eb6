"""Offline gates on the real MLflow registry, DVC-tracked data and Great Expectations."""

from __future__ import annotations

import contextlib
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from pipelines.core.specs import load_spec
from pipelines.core.workspace import Workspace
from pipelines.demo.init import InitResult
from pipelines.gates.run import GateRun, run_offline_gates
from tests.fakes.demo import variant_spec
from validators.sources.datasets import DataError
from validators.sources.registry import RegistryError
from validators.spec.model import ModelDeployment

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("no_aliases")]
Demo = tuple[Workspace, InitResult]
ALIASES = ("staging", "production")


@pytest.fixture
def no_aliases(demo: Demo) -> Iterator[None]:
    """No release of the demo model is staged or in production (other tests of the session's
    demo project deploy and roll back): the champion gates have nothing to compare with.
    The aliases are put back afterwards."""
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    ws, _ = demo
    client = MlflowClient(tracking_uri=ws.mlflow_uri, registry_uri=ws.mlflow_uri)
    aliases = client.get_registered_model("credit-risk").aliases
    held = {name: aliases[name] for name in ALIASES if name in aliases}
    for name in held:
        client.delete_registered_model_alias("credit-risk", name)
    yield
    for name in ALIASES:
        with contextlib.suppress(MlflowException):
            client.delete_registered_model_alias("credit-risk", name)
    for name, version in held.items():
        client.set_registered_model_alias("credit-risk", name, version)


def spec_for(ws: Workspace, version: str) -> ModelDeployment:
    return load_spec(variant_spec(ws, version), ws.root)


def failing(run: GateRun) -> set[str]:
    return {r.gate for r in run.failed}


@pytest.mark.parametrize(
    ("variant", "fails"),
    [("good", set()), ("regressed", {"model"}), ("biased", {"fairness"}), ("drifted", {"drift"})],
)
def test_each_variant_fails_exactly_its_gate(demo: Demo, variant: str, fails: set[str]) -> None:
    ws, init = demo
    run = run_offline_gates(spec_for(ws, init.versions[variant]), ws, use_cache=False)
    assert failing(run) == fails
    assert {r.gate for r in run.results} >= {"data", "model", "fairness", "drift"}
    for result in run.failed:
        assert result.measured is not None
        assert result.threshold is not None
        assert result.evidence


def test_failures_carry_the_evidence_a_reviewer_needs(demo: Demo) -> None:
    ws, init = demo
    biased = run_offline_gates(spec_for(ws, init.versions["biased"]), ws)
    (fair,) = [r for r in biased.results if r.gate == "fairness"]
    assert fair.name == "sex: demographic_parity_difference"
    assert fair.measured is not None
    assert fair.measured > 0.1
    assert set(fair.evidence["groups"]) == {"F", "M"}
    drifted = run_offline_gates(spec_for(ws, init.versions["drifted"]), ws)
    (drift,) = [r for r in drifted.results if r.gate == "drift"]
    assert {t["feature"] for t in drift.evidence["top"]} == {"utilization", "income", "age"}
    assert "train-drifted.csv" in next(iter(k for k in drifted.data if "train" in k))


def test_champion_challenger_against_the_production_alias(demo: Demo) -> None:
    from mlflow import MlflowClient

    ws, init = demo
    client = MlflowClient(tracking_uri=ws.mlflow_uri, registry_uri=ws.mlflow_uri)
    client.set_registered_model_alias("credit-risk", "production", init.versions["good"])
    try:
        regressed = run_offline_gates(spec_for(ws, init.versions["regressed"]), ws)
        champion = [r for r in regressed.results if r.gate == "champion"]
        auc = next(r for r in champion if r.name.startswith("production: roc_auc"))
        assert not auc.passed
        assert auc.measured is not None
        assert auc.measured > 0.3
        assert auc.evidence["significant"] is True
        assert "staging: no champion" in {r.name for r in champion}
        biased = run_offline_gates(spec_for(ws, init.versions["biased"]), ws)
        assert {r.gate for r in biased.failed} == {"fairness"}, "small regressions pass"
    finally:
        client.delete_registered_model_alias("credit-risk", "production")


def test_plan_reuses_cached_results_until_an_input_changes(demo: Demo) -> None:
    ws, init = demo
    spec = spec_for(ws, init.versions["good"])
    first = run_offline_gates(spec, ws)
    again = run_offline_gates(spec, ws)
    assert again.cached
    assert again.key == first.key
    assert [r.to_json() for r in again.results] == [r.to_json() for r in first.results]
    assert spec.gates is not None
    stricter = spec.model_copy(update={"gates": spec.gates.model_copy(update={"drift": None})})
    changed = run_offline_gates(stricter, ws)
    assert not changed.cached
    assert "drift" not in {r.gate for r in changed.results}


def test_unknown_model_uri_names_the_field(demo: Demo) -> None:
    ws, _ = demo
    with pytest.raises(RegistryError, match=r"^model\.uri: models:/credit-risk/99 is not in"):
        run_offline_gates(spec_for(ws, "99"), ws)


def test_missing_label_column_names_the_field(demo: Demo) -> None:
    ws, init = demo
    spec = spec_for(ws, init.versions["good"])
    assert spec.data is not None
    nolabel = spec.model_copy(update={"data": spec.data.model_copy(update={"label": "defaulted"})})
    with pytest.raises(DataError, match=r"^data\.label: data/credit/holdout\.csv has no column"):
        run_offline_gates(nolabel, ws, use_cache=False)


def test_data_without_the_models_features_names_the_field(demo: Demo) -> None:
    ws, init = demo
    frame_path = ws.root / "data" / "credit" / "partial.csv"
    holdout = (ws.root / "data" / "credit" / "holdout.csv").read_text().splitlines()
    header = holdout[0].split(",")
    keep = [i for i, name in enumerate(header) if name != "income"]
    frame_path.write_text(
        "\n".join(",".join(line.split(",")[i] for i in keep) for line in holdout[:500]) + "\n"
    )
    spec = _with_evaluation(spec_for(ws, init.versions["good"]), "data/credit/partial.csv")
    with pytest.raises(
        RegistryError, match=r"^data\.evaluation: the data lacks column\(s\) income"
    ):
        run_offline_gates(spec, ws, use_cache=False)


def test_empty_and_missing_data_are_one_line_errors(demo: Demo) -> None:
    ws, init = demo
    (ws.root / "data" / "credit" / "empty.csv").write_text("age,income,default\n")
    spec = spec_for(ws, init.versions["good"])
    with pytest.raises(
        DataError, match=r"^data\.evaluation\.path: data/credit/empty\.csv has no rows"
    ):
        run_offline_gates(_with_evaluation(spec, "data/credit/empty.csv"), ws, use_cache=False)
    with pytest.raises(
        DataError, match=r"^data\.evaluation\.path: cannot read data/credit/gone\.csv"
    ):
        run_offline_gates(_with_evaluation(spec, "data/credit/gone.csv"), ws, use_cache=False)


def _with_evaluation(spec: ModelDeployment, path: str) -> ModelDeployment:
    assert spec.data is not None
    evaluation = spec.data.evaluation.model_copy(update={"path": path})
    return spec.model_copy(update={"data": spec.data.model_copy(update={"evaluation": evaluation})})


def test_plan_cli_exit_codes_and_report(demo: Demo, tmp_path: Path) -> None:
    ws, init = demo
    good = variant_spec(ws, init.versions["good"], "good")
    biased = variant_spec(ws, init.versions["biased"], "biased")
    ok = _shipyard(ws, "plan", str(good))
    assert ok.returncode == 0, ok.stderr
    assert "credit-risk  models:/credit-risk/1  PASSED" in ok.stdout
    html = tmp_path / "report.html"
    bad = _shipyard(ws, "plan", str(biased), "--html", str(html))
    assert bad.returncode == 1, bad.stderr
    assert "FAIL  fairness  sex: demographic_parity_difference" in bad.stdout
    assert html.read_text().startswith("<!DOCTYPE html>")
    assert "Traceback" not in bad.stderr
    missing = _shipyard(ws, "plan", str(variant_spec(ws, "99", "unknown")))
    assert missing.returncode == 2
    assert missing.stderr.startswith("error: model.uri: models:/credit-risk/99 is not in")


def _shipyard(ws: Workspace, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pipelines", "-C", str(ws.root), *args],
        capture_output=True,
        text=True,
        timeout=300,
    )
