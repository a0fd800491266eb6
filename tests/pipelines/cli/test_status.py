"""`shipyard status` prints one line per spec and environment of the project."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.cli import status
from tests.fakes.cli import parse, shipyard
from tests.fakes.projects import local_spec, project


def test_each_environment_of_each_spec_has_its_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project(tmp_path, {"a.yaml": local_spec("alpha"), "b.yaml": local_spec("beta")})
    ran = shipyard(capsys, "-C", str(tmp_path), "status")
    assert ran.code == 0
    lines = ran.out.splitlines()
    assert lines[0].split() == ["spec", "env", "version", "weights", "health", "last", "run"]
    assert [line.split()[:2] for line in lines[1:]] == [
        ["alpha", "staging"],
        ["alpha", "production"],
        ["beta", "staging"],
        ["beta", "production"],
    ]
    assert all("not deployed" in line and line.endswith("never") for line in lines[1:])
    assert vars(parse(status)) == {}
