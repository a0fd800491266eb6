"""`shipyard init`: set up the embedded default under `.shipyard/` — a local DVC remote, the
demo's data tracked by DVC, and an MLflow registry (SQLite) holding the demo's models.

Idempotent: what exists and matches is kept; re-running after an interruption converges.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass

from pipelines.core.errors import ShipyardError
from pipelines.core.workspace import STATE_DIR_NAME, Workspace
from pipelines.state.store import open_store

# path -> (rows, seed, drift); the seeded generator makes the same bytes every time.
DATASETS = {
    "data/credit/train.csv": (12_000, 1, False),
    "data/credit/holdout.csv": (4_000, 2, False),
    "data/credit/train-drifted.csv": (12_000, 3, True),
}
REMOTE_NAME = "shipyard-local"


class InitError(ShipyardError):
    """A step of `shipyard init` failed; the message names the tool and its own words."""


@dataclass(frozen=True)
class InitResult:
    data: dict[str, str]  # path -> sha256
    versions: dict[str, str]  # variant -> MLflow version


def init_workspace(ws: Workspace, say: Callable[[str], None]) -> InitResult:
    ws.state.mkdir(parents=True, exist_ok=True)
    ignore_state(ws, say)
    open_store(ws.state_url)  # the state store, its schema created (or checked) up front
    _ensure_dvc(ws, say)
    digests = _write_data(ws, say)
    _dvc(ws, "add", "--quiet", *DATASETS)
    _dvc(ws, "push", "--quiet", *DATASETS)
    say(f"data:   {len(DATASETS)} files tracked by DVC, pushed to {_default_remote(ws)}")
    versions = _register_models(ws, digests, say)
    return InitResult(digests, versions)


def ignore_state(ws: Workspace, say: Callable[[str], None]) -> None:
    """In a Git repository, keep `.shipyard/` out of it: local state (servers' homes, the
    agent's own checkout, databases) must never be committed."""
    if not (ws.root / ".git").exists():
        return
    ignored = subprocess.run(
        ["git", "-C", str(ws.root), "check-ignore", "-q", f"{STATE_DIR_NAME}/"],
        capture_output=True,
        check=False,
    )
    if ignored.returncode == 0:
        return
    gitignore = ws.root / ".gitignore"
    before = gitignore.read_text(encoding="utf-8") if gitignore.exists() else ""
    lead = "" if not before or before.endswith("\n") else "\n"
    line = f"{lead}# Shipyard's local state (shipyard init)\n{STATE_DIR_NAME}/\n"
    gitignore.write_text(before + line, encoding="utf-8")
    say(f"git:    {STATE_DIR_NAME}/ added to .gitignore")


def _dvc(ws: Workspace, *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "dvc", *args],
        cwd=ws.root,
        capture_output=True,
        text=True,
        env={**os.environ, "DVC_NO_ANALYTICS": "1"},
    )
    if result.returncode != 0:
        detail = (result.stderr or result.stdout).strip().splitlines()
        raise InitError(
            f"`dvc {' '.join(args[:1])}` failed in {ws.root}: {detail[-1] if detail else '?'}",
            hint="fix the DVC setup (`dvc doctor`), then run `shipyard init` again",
        )
    return result.stdout


def _ensure_dvc(ws: Workspace, say: Callable[[str], None]) -> None:
    if not (ws.root / ".dvc").is_dir():
        scm = (ws.root / ".git").exists()
        _dvc(ws, "init", "--quiet", *([] if scm else ["--no-scm"]))
        say(f"dvc:    initialised {ws.root}{'' if scm else ' (no git)'}")
    ws.dvc_remote.mkdir(parents=True, exist_ok=True)
    if not _default_remote(ws):
        relative = os.path.relpath(ws.dvc_remote, ws.root)  # dvc stores it relative to .dvc/
        _dvc(ws, "remote", "add", "--default", REMOTE_NAME, relative)
        say(f"dvc:    default remote {REMOTE_NAME} -> {ws.dvc_remote}")


def _default_remote(ws: Workspace) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "dvc", "remote", "default"],
        cwd=ws.root,
        capture_output=True,
        text=True,
    )
    return result.stdout.strip() if result.returncode == 0 else ""


def _write_data(ws: Workspace, say: Callable[[str], None]) -> dict[str, str]:
    from pipelines.demo.dataset import generate, write_csv

    digests: dict[str, str] = {}
    for relative, (rows, seed, drift) in DATASETS.items():
        path = ws.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        write_csv(generate(rows, seed, drift), str(tmp))
        fresh = tmp.read_bytes()
        if path.exists() and path.read_bytes() == fresh:
            tmp.unlink()
        else:
            tmp.replace(path)
            say(f"data:   wrote {relative} ({rows} rows{', drifted' if drift else ''})")
        digests[relative] = hashlib.sha256(fresh).hexdigest()
    return digests


def _register_models(
    ws: Workspace, digests: dict[str, str], say: Callable[[str], None]
) -> dict[str, str]:
    import pandas as pd

    from pipelines.demo import train

    train.quiet_mlflow()
    uri = ws.mlflow_uri
    artifacts = _artifact_location(ws)
    versions = train.registered_variants(uri)
    for variant in train.VARIANTS:
        if variant.name in versions:
            continue
        frame = pd.read_csv(ws.root / variant.training_data)
        versions[variant.name] = train.register(
            variant, frame, digests[variant.training_data], uri, artifacts
        )
        say(
            f"mlflow: registered {train.MODEL_NAME} v{versions[variant.name]} ({variant.name}: "
            f"{variant.description})"
        )
    say(f"mlflow: registry at {uri}")
    return versions


def _artifact_location(ws: Workspace) -> str:
    """Where the demo experiment keeps its models: beside the embedded registry under
    `.shipyard/`, or, with a tracking server (`MLFLOW_TRACKING_URI=http(s)://...`), in the
    artifact store the server proxies — a folder of this checkout would be gone with the CI
    runner that ran init. The experiment is created here so `train.register` finds it."""
    uri = ws.mlflow_uri
    if not uri.startswith(("http://", "https://")):
        ws.mlflow_artifacts.mkdir(parents=True, exist_ok=True)
        return ws.mlflow_artifacts.as_uri()
    from mlflow import MlflowClient

    from pipelines.demo import train

    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    experiment = client.get_experiment_by_name(train.MODEL_NAME)
    if experiment is None:  # created with the server's default location: mlflow-artifacts:/
        experiment = client.get_experiment(client.create_experiment(train.MODEL_NAME))
    return str(experiment.artifact_location)
