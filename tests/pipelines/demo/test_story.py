"""The README's main command: `shipyard demo` on a fresh folder, through the real engine."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest


def shipyard(
    *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pipelines", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
    )


@pytest.mark.integration
def test_demo_gates_every_model_and_runs_the_engine(tmp_path: Path, repo: Path) -> None:
    env = _project(tmp_path, repo)
    result = shipyard("demo", cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    gated = {
        line.split()[0]: line
        for line in lines
        if line.split()[:1] in (["good"], ["regressed"], ["biased"], ["drifted"], ["faulty"])
    }
    assert gated["good"].split()[2] == "PASS"
    assert gated["faulty"].split()[2] == "PASS", "the faulty model is fine offline"
    assert "FAIL  model roc_auc 0.50" in gated["regressed"]
    assert "FAIL  fairness sex: demographic_parity_difference 0.18" in gated["biased"]
    assert "FAIL  drift max psi over 14 features 0.91" in gated["drifted"]
    outcomes = [line for line in lines if line.startswith("=> ")]
    assert outcomes[0].startswith("=> promoted")
    assert outcomes[1].startswith("=> rolled back")
    assert outcomes[2].startswith("=> blocked")
    # the monitor saw the drifted traffic and proposed a retrain, as the spec says
    retrain = sorted((tmp_path / ".shipyard").rglob("retrain-*.md"))
    assert retrain, result.stdout
    assert "income" in retrain[-1].read_text(encoding="utf-8")
    assert "the story went as expected" in lines
    assert any(line.startswith("curl -s -X POST http://127.0.0.1:") for line in lines)
    assert (tmp_path / ".shipyard" / "reports" / "demo-gates.html").exists()
    leftover = subprocess.run(["pgrep", "-f", str(tmp_path)], capture_output=True, text=True)
    assert leftover.stdout == "", "the demo stops every process it started"


def _project(tmp_path: Path, repo: Path) -> dict[str, str]:
    """A fresh folder holding what the demo needs of a checkout; the environment to run in."""
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    for relative in ("specs/credit-risk.yaml", "validators/suites/credit.yaml"):
        (tmp_path / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(repo / relative, tmp_path / relative)
    drop = ("PULUMI_BACKEND_URL", "MLFLOW_TRACKING_URI", "SHIPYARD_STATE_URL")
    return {k: v for k, v in os.environ.items() if k not in drop}


@pytest.mark.integration
def test_demo_told_by_the_agent_rolls_out_rolls_back_and_does_not_loop(
    tmp_path: Path, repo: Path
) -> None:
    env = _project(tmp_path, repo)
    result = subprocess.run(
        [sys.executable, "-m", "pipelines", "demo", "--agent"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=1800,
        env=env,
    )
    assert result.returncode == 0, result.stdout[-8000:] + result.stderr[-4000:]
    lines = result.stdout.splitlines()
    outcomes = [line for line in lines if line.startswith("=> ")]
    assert outcomes[0].startswith("=> v"), outcomes
    assert "serves production" in outcomes[0], outcomes
    assert outcomes[1].startswith("=> rolled back"), outcomes
    assert outcomes[2].startswith("=> revert proposed: branch shipyard/revert-"), outcomes
    assert "the agent does not re-apply a rolled-back commit" in outcomes[3], outcomes
    assert any(line.startswith("  [agent] agent: ") for line in lines)  # the agent applied it
    assert not any("shipyard apply" in line for line in lines if line.startswith("$ "))
    assert "the story went as expected" in lines
    team = tmp_path / ".shipyard" / "demo" / "agent" / "team.git"
    branches = subprocess.run(
        ["git", "-C", str(team), "branch", "--list"], capture_output=True, text=True, check=True
    ).stdout.split()
    assert any(b.startswith("shipyard/revert-") for b in branches), branches
    leftover = subprocess.run(["pgrep", "-f", str(tmp_path)], capture_output=True, text=True)
    assert leftover.stdout == "", "the demo stops every process it started"


def test_demo_outside_a_checkout_says_where_to_run_it(tmp_path: Path) -> None:
    result = shipyard("demo", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.splitlines()[0] == f"error: specs/credit-risk.yaml is not in {tmp_path}"


def test_missing_engine_is_reported_with_the_fix(tmp_path: Path) -> None:
    env = {**os.environ, "SHIPYARD_PULUMI_ROOT": str(tmp_path / "nowhere")}
    result = shipyard("version", cwd=tmp_path, env=env)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    (line,) = [x for x in result.stdout.splitlines() if x.startswith("pulumi CLI")]
    assert line == (
        f"pulumi CLI   missing: no Pulumi CLI v{_sdk()} or newer in $SHIPYARD_PULUMI_ROOT/bin; "
        "run `make setup` (it builds the Pulumi CLI from Go modules once and caches it)"
    )


def _sdk() -> str:
    from importlib.metadata import version

    return version("pulumi")


def test_a_variant_file_is_the_demo_spec_at_another_version(tmp_path: Path, repo: Path) -> None:
    from pipelines.core.workspace import Workspace
    from pipelines.demo.story import variant_file
    from validators.spec.loader import load_text

    (tmp_path / "specs").mkdir()
    shutil.copy(repo / "specs" / "credit-risk.yaml", tmp_path / "specs")
    ws = Workspace.at(tmp_path)
    path = Path(variant_file(ws, "4", "faulty"))
    assert path == ws.state / "demo" / "specs" / "credit-risk-faulty.yaml"
    spec = load_text(path.read_text(encoding="utf-8"), str(path)).spec
    original = load_text((repo / "specs" / "credit-risk.yaml").read_text(), "credit-risk.yaml").spec
    assert spec is not None
    assert original is not None
    assert original.model.uri == "models:/credit-risk/1"
    assert spec.model.uri == "models:/credit-risk/4"
    assert spec.model_copy(update={"model": original.model}) == original


def test_the_example_row_has_the_models_input_columns() -> None:
    from pipelines.demo.dataset import LABEL, SENSITIVE, generate
    from pipelines.demo.story import _COLUMNS

    frame = generate(10, seed=1)
    assert list(_COLUMNS) == [c for c in frame.columns if c not in (LABEL, SENSITIVE)]
