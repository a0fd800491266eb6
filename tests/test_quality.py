"""The linters run as tests: ruff (lint and format), mypy, import-linter's layer contracts."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent


@pytest.mark.parametrize(
    "argv",
    [
        ["ruff", "check", "."],
        ["ruff", "format", "--check", "."],
        ["mypy"],
        ["lint-imports"],
    ],
    ids=["ruff", "ruff-format", "mypy", "import-linter"],
)
def test_linter_is_clean(argv: list[str], repo: Path) -> None:
    result = subprocess.run(
        [str(BIN / argv[0]), *argv[1:]], cwd=repo, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-2000:]
