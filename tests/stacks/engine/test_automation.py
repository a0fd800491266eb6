"""Reading a stack's outputs (what a cloud target runs) never creates the stack: a plan on a
pull request must not write to a shared backend. Real engine, file backend in a temp dir."""

from __future__ import annotations

from pathlib import Path

import pytest

from stacks import smoke
from stacks.engine.automation import EngineSettings, outputs, stack

pytestmark = pytest.mark.integration


def test_outputs_of_a_missing_stack_are_empty_and_create_nothing(tmp_path: Path) -> None:
    backend = tmp_path / "backend"
    settings = EngineSettings(tmp_path / "pulumi", backend.as_uri())
    assert outputs(settings, smoke.PROJECT, "plan") == {}
    assert not list(backend.rglob("plan.json")), "no stack was created"

    config = smoke.SmokeConfig(directory=tmp_path / "files", message="hello")
    stack(settings, smoke.PROJECT, "plan", lambda: smoke.program(config)).up()
    assert outputs(settings, smoke.PROJECT, "plan")["sha256"]
