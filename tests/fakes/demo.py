"""A demo project initialised once per test session: git repo, DVC remote, data, MLflow.

The `demo` fixture is loaded as a plugin by tests/conftest.py, so every test can ask for it."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from pipelines.core.workspace import Workspace
from pipelines.demo.init import InitResult, init_workspace

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Workspace, InitResult]:
    """A fresh project with the demo spec and suite, after `shipyard init`."""
    root = tmp_path_factory.mktemp("project")
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    for relative in ("specs/credit-risk.yaml", "validators/suites/credit.yaml"):
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(REPO / relative, root / relative)
    ws = Workspace.at(root)
    return ws, init_workspace(ws, say=lambda _: None)


def variant_spec(ws: Workspace, version: str, name: str | None = None) -> Path:
    """The demo spec pointing at another model version, written beside the original."""
    text = (ws.root / "specs" / "credit-risk.yaml").read_text(encoding="utf-8")
    text = text.replace("models:/credit-risk/1", f"models:/credit-risk/{version}")
    path = ws.root / "variants" / f"{name or 'v' + version}.yaml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path
