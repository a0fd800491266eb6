"""The real Pulumi engine (file backend in a temp dir) drives a Python dynamic provider."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from stacks import smoke
from stacks.engine.automation import EngineSettings, stack
from stacks.engine.cli import find_pulumi

pytestmark = pytest.mark.integration


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def test_up_preview_update_refresh_destroy_on_real_engine(tmp_path: Path) -> None:
    settings = EngineSettings(
        state_dir=tmp_path / "pulumi",
        backend_url=(tmp_path / "backend").as_uri(),
        install=find_pulumi(),
    )
    first = smoke.SmokeConfig(directory=tmp_path / "files", message="first")

    st = stack(settings, smoke.PROJECT, "test", lambda: smoke.program(first))
    up = st.up()
    assert first.path.read_text() == "first\n"
    assert up.summary.resource_changes == {"create": 2}  # the stack and the file
    assert up.outputs["sha256"].value == sha256("first\n")
    assert list((tmp_path / "backend" / ".pulumi").rglob("test.json")), "state is in the backend"

    second = smoke.SmokeConfig(directory=tmp_path / "files", message="second")
    st = stack(settings, smoke.PROJECT, "test", lambda: smoke.program(second))
    preview = st.preview()
    assert preview.change_summary == {"same": 1, "update": 1}
    assert first.path.read_text() == "first\n", "preview must not touch the file"

    st.up()
    assert second.path.read_text() == "second\n"

    second.path.write_text("edited by hand\n")
    refresh = st.refresh()
    assert refresh.summary.resource_changes == {"same": 1, "update": 1}, "read() reports drift"
    st.up()
    assert second.path.read_text() == "second\n", "up restores the desired content"

    destroy = st.destroy()
    assert destroy.summary.resource_changes == {"delete": 2}
    assert not second.path.exists()
