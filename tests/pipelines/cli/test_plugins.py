"""`shipyard plugins` installs the provider plugins the specs' cloud targets need: a project
on the local target alone needs none."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.cli import plugins
from tests.fakes.cli import parse, shipyard
from tests.fakes.projects import local_spec, project


def test_local_environments_need_no_plugin(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project(tmp_path, {"credit.yaml": local_spec("credit")})
    ran = shipyard(capsys, "-C", str(tmp_path), "plugins")
    assert (ran.code, ran.out) == (0, "no kubernetes or aws environment: no plugin needed\n")


def test_arguments() -> None:
    assert parse(plugins).specs == []
    assert parse(plugins, "specs/a.yaml", "specs/b.yaml").specs == [
        Path("specs/a.yaml"),
        Path("specs/b.yaml"),
    ]
