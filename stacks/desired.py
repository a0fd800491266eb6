"""What a target should run: a release per slot and the traffic split. Every target keeps it
(local: in desired.json; the cloud targets: as a stack output) and every move starts from it."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path


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
