"""`shipyard build SPEC` loads the spec before building (the build itself is
tests/pipelines/build/test_bento_integration.py's): an invalid spec is bad input."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.cli import build
from tests.fakes.cli import parse, shipyard
from tests.fakes.projects import BAD_NAME, BAD_SPEC, project


def test_an_invalid_spec_is_refused_before_any_build(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ws = project(tmp_path, {"bad.yaml": BAD_SPEC})
    store = tmp_path / ".shipyard" / "bentoml"  # this project's, whatever BENTOML_HOME says
    ran = shipyard(capsys, "-C", str(tmp_path), "build", str(tmp_path / "specs" / "bad.yaml"))
    assert ran.code == 2
    first = ran.err.splitlines()[0]
    assert first.startswith("error: 2 problem(s) in spec: ")
    assert first.endswith(f"bad.yaml:3:18: {BAD_NAME}")
    assert not store.exists()
    assert not (ws.bentoml_home / "bentos" / "bad-name").exists()


def test_arguments() -> None:
    assert parse(build, "specs/a.yaml").spec == Path("specs/a.yaml")
    with pytest.raises(SystemExit, match=r"^2$"):
        parse(build)
