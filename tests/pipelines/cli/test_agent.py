"""`shipyard agent`: its options as parsed, a bad interval refused with exit 2, and a short
run (two ticks) over a project's own Git checkout with no spec yet."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from pipelines.cli import agent
from tests.fakes.agent import commit_all
from tests.fakes.cli import parse, shipyard


def test_the_options_as_parsed() -> None:
    args = parse(agent, "--env", "staging", "--env", "production", "--listen", "127.0.0.1:1")
    assert args.env == ["staging", "production"]
    assert (args.repo, args.branch, args.interval, args.listen) == (
        None,
        "main",
        "30s",
        "127.0.0.1:1",
    )
    assert (args.approvals, args.traffic_rps, args.ticks) == ("local", 0.0, 0)


def test_a_bad_interval_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    subprocess.run(["git", "init", "-q", "-b", "main", str(tmp_path)], check=True)
    ran = shipyard(capsys, "-C", str(tmp_path), "agent", "--interval", "soon")
    assert ran.code == 2
    assert ran.err.splitlines()[0].startswith("error: --interval soon: ")


def test_two_ticks_over_the_projects_own_checkout(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for key in ("SHIPYARD_STATE_URL", "BENTOML_HOME", "SHIPYARD_LOCAL_HOME"):
        monkeypatch.setenv(key, "")  # the agent fills them in; restored afterwards
    for key in ("MLFLOW_TRACKING_URI", "PULUMI_BACKEND_URL", "PULUMI_CONFIG_PASSPHRASE_FILE"):
        monkeypatch.setenv(key, "")
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "README.md").write_text("specs go here\n", encoding="utf-8")
    subprocess.run(["git", "init", "-q", "-b", "main", str(tmp_path)], check=True)
    commit_all(tmp_path, "no spec yet")
    monkeypatch.chdir(tmp_path)  # a tick works in the agent's checkout: come back after
    ran = shipyard(capsys, "-C", str(tmp_path), "agent", "--interval", "1s", "--ticks", "2")
    assert ran.code == 0, ran.err
    assert ran.out.splitlines() == [
        f"agent: following {tmp_path} main every 1s for every environment",
        "leader of *",
    ]
