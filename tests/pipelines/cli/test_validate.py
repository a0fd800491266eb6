"""`shipyard validate`: every problem of every spec at its line, as text or JSON; exit 2 when
a spec is invalid."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipelines.cli import validate
from tests.fakes.cli import parse, shipyard
from tests.fakes.projects import BAD_FIELD, BAD_NAME, BAD_SPEC, local_spec, project


def test_the_specs_folder_is_checked_by_default(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project(tmp_path, {"credit.yaml": local_spec("credit")})
    ran = shipyard(capsys, "-C", str(tmp_path), "validate")
    assert ran.code == 0
    assert ran.out.splitlines()[-1] == "1 spec(s) checked: 1 valid"


def test_an_invalid_spec_is_exit_2_with_each_problem(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project(tmp_path, {"credit.yaml": local_spec("credit"), "bad.yaml": BAD_SPEC})
    ran = shipyard(capsys, "-C", str(tmp_path), "validate", str(tmp_path / "specs" / "bad.yaml"))
    assert ran.code == 2
    lines = ran.out.splitlines()
    assert any(line.endswith(f"bad.yaml:3:18: {BAD_NAME}") for line in lines)
    assert any(line.endswith(f"bad.yaml:6:36: {BAD_FIELD}") for line in lines)
    assert lines[-1] == "1 spec(s) checked: 0 valid, 1 invalid with 2 problem(s)"


def test_json_lists_every_spec_and_finding(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project(tmp_path, {"credit.yaml": local_spec("credit"), "bad.yaml": BAD_SPEC})
    ran = shipyard(capsys, "-C", str(tmp_path), "validate", "--format", "json")
    document = json.loads(ran.out)
    assert ran.code == 2
    assert document["valid"] is False
    found = {Path(s["file"]).name: (s["name"], len(s["findings"])) for s in document["specs"]}
    assert found == {"bad.yaml": (None, 2), "credit.yaml": ("credit", 0)}


def test_arguments() -> None:
    args = parse(validate, "a.yaml", "specs/", "--format", "json")
    assert (args.paths, args.format) == ([Path("a.yaml"), Path("specs")], "json")
    assert (parse(validate).paths, parse(validate).format) == ([], "text")
    with pytest.raises(SystemExit, match=r"^2$"):
        parse(validate, "--format", "yaml")
    assert validate.HELP.startswith("check specs")
