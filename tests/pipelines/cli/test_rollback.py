"""`shipyard rollback SPEC --env ENV [--to VERSION]`: with no earlier release there is nothing
to roll back to, and the message says how to name one; a canary running is taken out, said as
a line or as one JSON document with the progress on stderr (restores themselves are the apply
integration tests')."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipelines.cli import rollback
from tests.fakes.cli import parse, shipyard
from tests.fakes.deployed import MEMORY_SPEC, deploy
from tests.fakes.memory_target import registered
from tests.fakes.projects import local_spec, project


def test_nothing_released_is_nothing_to_roll_back_to(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project(tmp_path, {"credit.yaml": local_spec("credit")})
    spec = str(tmp_path / "specs" / "credit.yaml")
    ran = shipyard(capsys, "-C", str(tmp_path), "rollback", spec, "--env", "staging")
    assert ran.code == 2
    assert ran.err.splitlines() == [
        "error: no earlier release of credit in staging to roll back to",
        "  hint: name one: shipyard rollback SPEC --env ENV --to VERSION",
    ]


def test_json_is_the_only_thing_on_stdout_and_the_progress_goes_to_stderr(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ws = project(tmp_path, {"credit.yaml": MEMORY_SPEC})
    spec = tmp_path / "specs" / "credit.yaml"
    argv = ("-C", str(tmp_path), "rollback", str(spec), "--env", "production")
    with registered():
        deploy(ws, spec, "production", canary=True)
        as_json = shipyard(capsys, *argv, "--format", "json")
        deploy(ws, spec, "production", canary=True)
        as_text = shipyard(capsys, *argv)
    assert as_json.code == 0
    found = json.loads(as_json.out)
    assert (found["action"], found["model"], found["bento"]) == (
        "canary removed",
        "models:/credit/3",
        "credit:aaa",
    )
    said = as_json.err.splitlines()
    assert said[0].startswith("credit/production: a previous apply stopped during its canary")
    assert said[-1].startswith("ledger: seq ")
    assert as_text.code == 0
    assert as_text.err == ""
    lines = as_text.out.splitlines()
    assert lines[:1] == said[:1]
    assert lines[-1] == found["message"]


def test_arguments() -> None:
    args = parse(rollback, "specs/a.yaml", "--env", "production", "--to", "3")
    assert (args.spec, args.env, args.to) == (Path("specs/a.yaml"), "production", "3")
    assert parse(rollback, "specs/a.yaml", "--env", "production").to is None
    assert parse(rollback, "specs/a.yaml", "--env", "production").format == "text"
    with pytest.raises(SystemExit, match=r"^2$"):
        parse(rollback, "specs/a.yaml")
