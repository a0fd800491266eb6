"""`shipyard init` sets up `.shipyard/` (the full run is the demo's and the integration tests'
`demo` fixture); a tool failing on the way is an error naming the tool, with the fix."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from pipelines.cli import init
from tests.fakes.cli import parse, shipyard


def test_a_failing_dvc_is_reported_with_what_to_do(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / ".dvc").write_text("a file where DVC wants its folder\n")
    ran = shipyard(capsys, "-C", str(tmp_path), "init")
    assert ran.code == 1
    first, hint = ran.err.splitlines()
    assert re.match(rf"^error: `dvc init` failed in {re.escape(str(tmp_path))}: ", first)
    assert hint == "  hint: fix the DVC setup (`dvc doctor`), then run `shipyard init` again"
    assert (tmp_path / ".shipyard").is_dir()
    assert not (tmp_path / ".shipyard" / "mlflow.db").exists(), "it stopped at the failure"
    assert vars(parse(init)) == {}
