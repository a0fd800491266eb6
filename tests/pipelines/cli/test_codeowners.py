"""`shipyard codeowners`: writes .github/CODEOWNERS, or with `--check` only compares (the
file's content is tests/pipelines/approvals/test_codeowners.py's)."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.cli import codeowners
from tests.fakes.cli import parse, shipyard
from tests.fakes.projects import local_spec, project


def test_check_changes_nothing_and_fails_until_the_file_is_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project(tmp_path, {"credit.yaml": local_spec("credit")})
    stale = shipyard(capsys, "-C", str(tmp_path), "codeowners", "--check")
    assert stale.code == 1
    assert stale.err.startswith("error: .github/CODEOWNERS is missing: ")
    assert not (tmp_path / ".github").exists()
    written = shipyard(capsys, "-C", str(tmp_path), "codeowners")
    assert (written.code, written.out) == (0, "wrote .github/CODEOWNERS (1 spec(s))\n")
    assert (tmp_path / ".github" / "CODEOWNERS").read_text().endswith("/specs/credit.yaml @ml\n")
    current = shipyard(capsys, "-C", str(tmp_path), "codeowners", "--check")
    assert (current.code, current.out) == (0, ".github/CODEOWNERS is current (1 spec(s))\n")


def test_arguments() -> None:
    assert parse(codeowners).check is False
    assert parse(codeowners, "--check").check is True
