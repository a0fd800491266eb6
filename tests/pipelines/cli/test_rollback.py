"""`shipyard rollback SPEC --env ENV [--to VERSION]`: with no earlier release there is nothing
to roll back to, and the message says how to name one (rollbacks themselves are the apply
integration tests')."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.cli import rollback
from tests.fakes.cli import parse, shipyard
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


def test_arguments() -> None:
    args = parse(rollback, "specs/a.yaml", "--env", "production", "--to", "3")
    assert (args.spec, args.env, args.to) == (Path("specs/a.yaml"), "production", "3")
    assert parse(rollback, "specs/a.yaml", "--env", "production").to is None
    with pytest.raises(SystemExit, match=r"^2$"):
        parse(rollback, "specs/a.yaml")
