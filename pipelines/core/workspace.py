"""The `.shipyard/` folder of a project: local state of the embedded default."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

STATE_DIR_NAME = ".shipyard"


@dataclass(frozen=True)
class Workspace:
    """A project checkout (`root`, holding specs/) and its state folder."""

    root: Path

    @classmethod
    def at(cls, root: Path | str = ".") -> Workspace:
        return cls(root=Path(root).resolve())

    @property
    def state(self) -> Path:
        return self.root / STATE_DIR_NAME

    @property
    def pulumi(self) -> Path:
        """Pulumi file backend, PULUMI_HOME and passphrase of the embedded default."""
        return self.state / "pulumi"

    @property
    def state_url(self) -> str:
        """`SHIPYARD_STATE_URL` when set, else the SQLite store under `.shipyard/`."""
        return os.environ.get("SHIPYARD_STATE_URL") or f"sqlite:///{self.state / 'state.db'}"

    @property
    def mlflow_uri(self) -> str:
        """`MLFLOW_TRACKING_URI` when set, else the SQLite store under `.shipyard/`."""
        return os.environ.get("MLFLOW_TRACKING_URI") or f"sqlite:///{self.state / 'mlflow.db'}"

    @property
    def bentoml_home(self) -> Path:
        """`BENTOML_HOME` when set, else the Bento and model store under `.shipyard/`. Once a
        build has set it in a process, BentoML keeps using that store there: every later
        build and target of the process must use the same one."""
        home = os.environ.get("BENTOML_HOME")
        return Path(home) if home else self.state / "bentoml"

    @property
    def mlflow_artifacts(self) -> Path:
        return self.state / "mlartifacts"

    @property
    def dvc_remote(self) -> Path:
        """The local DVC remote of the embedded default."""
        return self.state / "dvc-remote"

    @property
    def cache(self) -> Path:
        """Results worth keeping between commands (gate results)."""
        return self.state / "cache"
