"""`python -m pipelines` is the `shipyard` command: importing `pipelines.__main__` runs the CLI
on the process's arguments and exits with its code."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from validators.spec.schema import committed


def _run_main(monkeypatch: pytest.MonkeyPatch, *argv: str) -> None:
    monkeypatch.setattr(sys, "argv", ["shipyard", *argv])
    monkeypatch.delitem(sys.modules, "pipelines.__main__", raising=False)
    import pipelines.__main__  # noqa: F401  # runs the command, then raises SystemExit


def test_the_command_runs_and_its_exit_code_is_the_process_s(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit, match=r"^0$"):
        _run_main(monkeypatch, "schema")
    assert capsys.readouterr().out == committed()


def test_a_failing_command_exits_with_its_code(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    with pytest.raises(SystemExit, match=r"^2$"):
        _run_main(monkeypatch, "-C", str(tmp_path), "validate", "nowhere.yaml")
    assert capsys.readouterr().out.splitlines()[0] == (
        "nowhere.yaml:1:1: (root): no such file or folder"
    )
