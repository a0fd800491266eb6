"""`shipyard explain SPEC --env ENV` prints the environment's releases from the ledger (the
stories are tests/pipelines/audit/test_explain.py's)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipelines.cli import explain
from tests.fakes.cli import parse, shipyard
from tests.fakes.projects import local_spec, project


def test_an_environment_never_released_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project(tmp_path, {"credit.yaml": local_spec("credit")})
    ran = shipyard(capsys, "-C", str(tmp_path), "explain", "specs/credit.yaml", "--env", "staging")
    assert (ran.code, ran.out) == (0, "credit/staging: no release recorded in the ledger\n")
    wrong = shipyard(capsys, "-C", str(tmp_path), "explain", "specs/credit.yaml", "--env", "qa")
    assert (wrong.code, wrong.err.splitlines()[0]) == (
        2,
        "error: credit has no environment 'qa'; it has: staging, production",
    )


def test_json_is_one_document(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    project(tmp_path, {"credit.yaml": local_spec("credit")})
    argv = ("-C", str(tmp_path), "explain", "specs/credit.yaml", "--env", "staging")
    ran = shipyard(capsys, *argv, "--format", "json")
    assert (ran.code, ran.err) == (0, "")
    assert json.loads(ran.out) == {
        "spec": "credit",
        "env": "staging",
        "running": None,
        "releases": [],
    }


def test_arguments() -> None:
    args = parse(explain, "specs/a.yaml", "--env", "production")
    assert (args.spec, args.env, args.format) == (Path("specs/a.yaml"), "production", "text")
    with pytest.raises(SystemExit, match=r"^2$"):
        parse(explain, "specs/a.yaml")
