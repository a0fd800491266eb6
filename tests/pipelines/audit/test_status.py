"""`shipyard status`: one line per spec and environment, read from what the target runs (here
the local target's desired state, written as a release would leave it) and the ledger."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from pipelines.audit.ledger import LedgerKind, ledger_of
from pipelines.audit.status import _ago, status_lines
from pipelines.core.specs import load_spec
from pipelines.core.targets import target_for
from stacks.desired import Desired
from tests.fakes.projects import BAD_SPEC, local_spec, project

HEADER = f"{'spec':<16} {'env':<12} {'version':<24} {'weights':<22} {'health':<8} last run"


def row(spec: str, env: str, version: str, weights: str, health: str, last: str) -> str:
    return f"{spec:<16} {env:<12} {version:<24} {weights:<22} {health:<8} {last}"


def test_specs_never_deployed(tmp_path: Path) -> None:
    project(tmp_path, {"credit.yaml": local_spec("credit"), "bad.yaml": BAD_SPEC})
    assert status_lines(tmp_path) == [
        HEADER,
        row("credit", "staging", "not deployed", "-", "-", "never"),
        row("credit", "production", "not deployed", "-", "-", "never"),
    ]


def test_a_canary_running_with_its_weights_and_the_last_ledger_entry(tmp_path: Path) -> None:
    ws = project(tmp_path, {"credit.yaml": local_spec("credit")})
    spec = load_spec(tmp_path / "specs" / "credit.yaml", tmp_path)
    target = target_for(spec, "production", ws)
    Desired(
        {
            "stable": {"bento": "credit:aaa", "model": "models:/credit/3"},
            "canary": {"bento": "credit:bbb", "model": "models:/credit/4"},
        },
        {"stable": 90, "canary": 10},
    ).save(target.desired_path)  # type: ignore[attr-defined]  # the local target's file
    ledger_of(ws).append(LedgerKind.STEP, "credit", "production", weights={"canary": 10})
    lines = status_lines(tmp_path)
    assert lines[1] == row("credit", "staging", "not deployed", "-", "-", "never")
    assert lines[2] == row(
        "credit", "production", "canary=4, stable=3", "canary:10% stable:90%", "down", "step 0s ago"
    )


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [
        (5, "5s ago"),
        (59, "59s ago"),
        (60, "1m ago"),
        (140, "2m ago"),
        (7200, "2h ago"),
        (3 * 86400, "3d ago"),
    ],
)
def test_how_long_ago(seconds: float, shown: str) -> None:
    assert _ago(time.time() - seconds) == shown
