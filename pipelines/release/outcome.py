"""How an apply ended, per environment and per spec; the exit code is decided from these."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pipelines.core.errors import EXIT_FAILED
from pipelines.core.outcomes import Outcome


@dataclass
class EnvOutcome:
    env: str
    outcome: Outcome
    version: str
    detail: str = ""
    seconds: float = 0.0
    restored: str | None = None  # after a rollback: the model serving again (None: nothing)


@dataclass
class SpecOutcome:
    spec: str
    outcome: Outcome
    envs: list[EnvOutcome] = field(default_factory=list)
    detail: str = ""
    stages: dict[str, float] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.outcome.ok


@dataclass
class ApplyResult:
    specs: list[SpecOutcome]

    @property
    def exit_code(self) -> int:
        return 0 if all(s.ok for s in self.specs) else EXIT_FAILED


def apply_json(result: ApplyResult) -> dict[str, Any]:
    """An apply as one JSON object: per spec and environment how it ended; `ok` and the
    exit code as the text's summary lines and the process say them."""
    return {
        "specs": [
            {
                "spec": s.spec,
                "outcome": str(s.outcome),
                "ok": s.ok,
                "detail": s.detail,
                "stages": s.stages,
                "envs": [
                    {
                        "env": e.env,
                        "outcome": str(e.outcome),
                        "version": e.version,
                        "detail": e.detail,
                        "seconds": e.seconds,
                        "restored": e.restored,
                    }
                    for e in s.envs
                ],
            }
            for s in result.specs
        ],
        "ok": result.exit_code == 0,
        "exit_code": result.exit_code,
    }
