"""`shipyard destroy SPEC --env ENV` names an environment of the spec (removing one is the
local target's integration tests')."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.cli import destroy
from tests.fakes.cli import parse, shipyard
from tests.fakes.projects import local_spec, project


def test_an_environment_the_spec_does_not_have_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ws = project(tmp_path, {"credit.yaml": local_spec("credit")})
    spec = str(tmp_path / "specs" / "credit.yaml")
    ran = shipyard(capsys, "-C", str(tmp_path), "destroy", spec, "--env", "prod")
    assert (ran.code, ran.err) == (
        2,
        "error: credit has no environment 'prod'; it has: staging, production\n",
    )
    assert not ws.state.exists(), "nothing was touched"


def test_arguments() -> None:
    args = parse(destroy, "specs/a.yaml", "--env", "staging")
    assert (args.spec, args.env) == (Path("specs/a.yaml"), "staging")
    with pytest.raises(SystemExit, match=r"^2$"):
        parse(destroy, "specs/a.yaml")
