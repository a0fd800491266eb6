"""`shipyard version` prints each part's version and exits 2 when the engine is missing."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines import __version__
from pipelines.cli import version
from pipelines.core.tools import report_tools
from stacks.engine import cli as engine
from tests.fakes.cli import parse, shipyard


def test_it_prints_the_report_of_every_part(capsys: pytest.CaptureFixture[str]) -> None:
    ran = shipyard(capsys, "version")
    lines, ok = report_tools()
    assert ran.out.splitlines() == lines
    assert ran.out.splitlines()[0] == f"shipyard     {__version__}"
    assert ran.code == (0 if ok else 2)


def test_without_the_engine_it_exits_2(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("SHIPYARD_PULUMI_ROOT", str(tmp_path / "nowhere"))
    monkeypatch.setattr(engine, "CHECKOUT_TOOLS", tmp_path / "checkout-tools")
    ran = shipyard(capsys, "version")
    assert ran.code == 2
    assert any(line.startswith("pulumi CLI   missing: ") for line in ran.out.splitlines())
    assert vars(parse(version)) == {}
