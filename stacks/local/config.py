"""The local target's own inputs (the pipeline maps a spec environment onto them)."""

from __future__ import annotations

import os
import zlib
from dataclasses import dataclass
from functools import cache, cached_property
from pathlib import Path

from stacks.target import TargetInputs

HOST_DIR_ENV = "SHIPYARD_LOCAL_HOME"
PORT_BASE = 18000
PORT_BLOCKS = 400  # 18000..19999 in blocks of 5: nginx, stable, canary, 2 spare
SLOT_OFFSET = {"stable": 1, "canary": 2}


@dataclass(frozen=True)
class LocalTargetConfig:
    """One spec environment on this host."""

    spec: str
    environment: str
    state_dir: Path  # the project's .shipyard/
    bentoml_home: Path
    listen: int | None = None  # the spec's local.port; default: derived from the names
    max_body: int = 10 * 1024 * 1024
    ready_timeout: float = 180.0
    # Where the host keeps its servers, nginx and logs (SHIPYARD_LOCAL_HOME): outside any one
    # checkout, so every job on this host (each a fresh clone) drives the same environment.
    # Default: the project's .shipyard/local.
    host_dir: Path | None = None

    @property
    def project(self) -> str:
        return f"shipyard-{self.spec}"

    @property
    def stack(self) -> str:
        return self.environment

    @cached_property
    def home(self) -> Path:
        """Where this host keeps its environments: SHIPYARD_LOCAL_HOME, else the project's
        .shipyard/local (resolved once: `status` makes a config per environment)."""
        return _resolved(self.host_dir) if self.host_dir else _resolved(self.state_dir) / "local"

    @cached_property
    def base_dir(self) -> Path:
        return self.home / f"{self.spec}-{self.environment}"

    @cached_property
    def listen_port(self) -> int:
        if self.listen:
            return self.listen
        # The host's folder takes part: two checkouts on one host get different ports, and
        # every checkout sharing one SHIPYARD_LOCAL_HOME (CI jobs, the agent) the same ones.
        key = f"{self.home}/{self.spec}/{self.environment}"
        block = zlib.crc32(key.encode()) % PORT_BLOCKS
        return PORT_BASE + 5 * block

    def slot_port(self, slot: str) -> int:
        return self.listen_port + SLOT_OFFSET[slot]

    def slot_home(self, slot: str) -> Path:
        """The slot's own BENTOML_HOME (its Bento and model stores link to the shared ones):
        `bentoml serve` wipes `$BENTOML_HOME/prometheus_multiproc_dir` when it starts, so
        servers sharing a home would erase each other's /metrics counters."""
        return self.base_dir / "bentoml-home" / slot

    @property
    def prediction_log_dir(self) -> Path:
        return self.base_dir / "predictions"


@cache
def _resolved(path: Path) -> Path:
    """`path` resolved once per process: `status` makes a config per environment, each
    resolving the same folder."""
    return path.resolve()


def local_config(inputs: TargetInputs) -> LocalTargetConfig:
    """The local target's config of one spec environment (`local: {port}` is optional)."""
    port = inputs.settings.get("port")
    return LocalTargetConfig(
        spec=inputs.spec,
        environment=inputs.environment,
        state_dir=inputs.state_dir,
        bentoml_home=inputs.bentoml_home,
        listen=int(port) if port else None,
        max_body=inputs.max_body_bytes,
        host_dir=Path(home) if (home := os.environ.get(HOST_DIR_ENV)) else None,
    )
