"""`explain_spec` around the pure release stories: the spec's environment must exist, an
environment never released says so, and the training-data tag reads as path and digest."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipelines.audit.history import _training, explain_spec
from pipelines.audit.ledger import LedgerKind, ledger_of
from pipelines.core.errors import UsageError
from tests.fakes.projects import local_spec, project


def test_an_environment_the_spec_does_not_have_is_refused(tmp_path: Path) -> None:
    ws = project(tmp_path, {"credit.yaml": local_spec("credit")})
    message = "^credit has no environment 'prod'; it has: staging, production$"
    with pytest.raises(UsageError, match=message):
        explain_spec(ws, Path("specs/credit.yaml"), "prod")


def test_an_environment_never_released_says_so(tmp_path: Path) -> None:
    ws = project(tmp_path, {"credit.yaml": local_spec("credit")})
    ledger_of(ws).append(LedgerKind.GATES, "credit", None, model="models:/credit/1", passed=True)
    ledger_of(ws).append(LedgerKind.PROMOTED, "other", "production", model="models:/other/1")
    text = explain_spec(ws, tmp_path / "specs" / "credit.yaml", "production")
    assert text == "credit/production: no release recorded in the ledger"
    as_json = explain_spec(ws, tmp_path / "specs" / "credit.yaml", "production", "json")
    assert json.loads(as_json) == {
        "spec": "credit",
        "env": "production",
        "running": None,
        "releases": [],
    }
    assert not (ws.state / "mlflow.db").exists(), "no registry is opened for no release"


@pytest.mark.parametrize(
    ("tag", "shown"),
    [
        (
            json.dumps({"path": "data/credit/train.csv", "sha256": "1a2b3c4d5e6f7a8b9c0d"}),
            "data/credit/train.csv (sha256 1a2b3c4d5e6f)",
        ),
        (json.dumps({"path": "data/x.csv"}), "data/x.csv (sha256 ?)"),
        (None, "unknown (the model version has no shipyard.training_data tag)"),
        ("", "unknown (the model version has no shipyard.training_data tag)"),
        ("not json", "not json"),
        (json.dumps({"sha256": "ab"}), '{"sha256": "ab"}'),
        (json.dumps(["a", "list"]), '["a", "list"]'),
    ],
)
def test_the_training_data_tag_reads_as_path_and_digest(tag: str | None, shown: str) -> None:
    assert _training(tag) == shown
