"""`shipyard version`'s report of the real parts: found with their versions, or missing with
how to get them; the engine's absence makes the report not ok."""

from __future__ import annotations

import platform
import sys
from pathlib import Path

import pytest

from pipelines import __version__
from pipelines.core.tools import report_tools
from stacks.engine import cli as engine
from stacks.local import host


def test_every_part_is_named_with_what_was_found() -> None:
    lines, ok = report_tools()
    assert lines[0] == f"shipyard     {__version__}"
    assert lines[1] == f"python       {platform.python_version()} ({sys.executable})"
    assert lines[2].startswith("pulumi SDK   3.")
    assert [line.split()[0] for line in lines[3:]] == ["pulumi", "nginx", "supervisord"]
    assert ok is not lines[3].startswith("pulumi CLI   missing")


def test_a_missing_engine_or_tool_says_how_to_get_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("SHIPYARD_PULUMI_ROOT", raising=False)
    monkeypatch.setattr(engine, "CHECKOUT_TOOLS", tmp_path / "checkout-tools")
    monkeypatch.setattr(host, "NGINX_FALLBACKS", ())
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    lines, ok = report_tools()
    assert ok is False
    assert lines[3].startswith("pulumi CLI   missing: ")
    assert lines[4] == (
        "nginx        missing; run `make setup` (installs the Debian package `nginx`), or "
        "`apt-get install nginx`"
    )
    assert lines[5].startswith("supervisord  4.")  # the venv's, beside python
