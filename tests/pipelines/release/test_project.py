"""An apply on a CI runner whose state store lives in the checkout says so loudly: a GitHub
warning annotation in the log and a warning on the job's summary page."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.core.workspace import Workspace
from pipelines.release.project import warn_if_ephemeral


def test_a_runner_without_a_team_store_is_warned_in_the_log_and_the_summary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    said: list[str] = []
    warn_if_ephemeral(Workspace.at(tmp_path), said.append)
    (line,) = said
    assert line.startswith("::warning title=Shipyard state is not kept::WARNING: the state ")
    assert "lost when the job ends" in line
    assert summary.read_text().startswith("> [!WARNING]\n> **Shipyard state is not kept**")


def test_a_team_store_or_a_laptop_is_not_warned(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    said: list[str] = []
    warn_if_ephemeral(Workspace.at(tmp_path), said.append)  # not on CI
    monkeypatch.setenv("CI", "true")
    monkeypatch.setenv("SHIPYARD_STATE_URL", "postgresql+psycopg://ci@db.internal/shipyard")
    warn_if_ephemeral(Workspace.at(tmp_path), said.append)
    assert said == []
