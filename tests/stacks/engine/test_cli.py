"""Finding a compatible Pulumi CLI, with fake executables that print a version."""

from __future__ import annotations

from pathlib import Path

import pytest

from stacks.engine import cli as engine
from stacks.errors import EngineNotFoundError


def fake_pulumi(root: Path, version: str) -> Path:
    bin_dir = root / "bin"
    bin_dir.mkdir(parents=True)
    exe = bin_dir / "pulumi"
    exe.write_text(f"#!/bin/sh\necho v{version}\n")
    exe.chmod(0o755)
    return bin_dir


@pytest.fixture(autouse=True)
def isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("SHIPYARD_PULUMI_ROOT", raising=False)
    monkeypatch.setattr(engine, "CHECKOUT_TOOLS", tmp_path / "checkout-tools")
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))


def test_checkout_tools_are_used(tmp_path: Path) -> None:
    bin_dir = fake_pulumi(tmp_path / "checkout-tools", "3.259.0")
    found = engine.find_pulumi("3.259.0")
    assert (found.bin_dir, found.version) == (bin_dir, "3.259.0")


def test_newer_cli_on_path_is_compatible(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bin_dir = fake_pulumi(tmp_path / "usr", "3.300.1")
    monkeypatch.setenv("PATH", str(bin_dir))
    assert engine.find_pulumi("3.259.0").version == "3.300.1"


def test_older_cli_is_refused_with_what_was_found(tmp_path: Path) -> None:
    fake_pulumi(tmp_path / "checkout-tools", "3.100.0")
    with pytest.raises(
        EngineNotFoundError, match=r"no Pulumi CLI v3\.259\.0 or newer; found only .*\(v3\.100\.0\)"
    ):
        engine.find_pulumi("3.259.0")


def test_explicit_root_is_the_only_place_looked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_pulumi(tmp_path / "checkout-tools", "3.259.0")
    monkeypatch.setenv("SHIPYARD_PULUMI_ROOT", str(tmp_path / "elsewhere"))
    with pytest.raises(EngineNotFoundError, match=r"in \$SHIPYARD_PULUMI_ROOT/bin$"):
        engine.find_pulumi("3.259.0")
