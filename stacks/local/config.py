"""The local target's own inputs (the pipeline maps a spec environment onto them)."""

from __future__ import annotations

import json
import zlib
from dataclasses import asdict, dataclass, field
from pathlib import Path

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

    @property
    def project(self) -> str:
        return f"shipyard-{self.spec}"

    @property
    def stack(self) -> str:
        return self.environment

    @property
    def base_dir(self) -> Path:
        return self.state_dir.resolve() / "local" / f"{self.spec}-{self.environment}"

    @property
    def listen_port(self) -> int:
        if self.listen:
            return self.listen
        # The project's folder takes part: two checkouts on one host get different ports.
        key = f"{self.state_dir.resolve()}/{self.spec}/{self.environment}"
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


@dataclass
class Desired:
    """What should run: a release per slot and the traffic split. Kept in desired.json."""

    slots: dict[str, dict[str, str]] = field(default_factory=dict)  # slot -> bento, model
    weights: dict[str, int] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path) -> Desired:
        if not path.exists():
            return cls()
        data = json.loads(path.read_text(encoding="utf-8"))
        return cls(slots=data.get("slots", {}), weights=data.get("weights", {}))

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(self), indent=2, sort_keys=True), encoding="utf-8")
        tmp.replace(path)
