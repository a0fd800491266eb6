"""What one apply carries through its stages, as Argo Rollouts' `rolloutContext` does: the
spec, its file, the workspace, the operator's options, the ledger and the output — passed as one
object instead of eight arguments. `EnvRelease` adds one environment's part: where the release
goes, what it is, the target it runs on and the rows its gates send."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipelines.audit.ledger import Ledger, LedgerEntry, LedgerKind, ledger_of
from pipelines.core.output import Say
from pipelines.core.workspace import Workspace
from stacks.target import Release, Target
from validators.spec.model import Environment, ModelDeployment

if TYPE_CHECKING:
    from pipelines.approvals.sources import ApprovalCheck


@dataclass
class ApplyOptions:
    approved_by: tuple[str, ...] = ()  # an operator's word (demos, break-glass), recorded so
    lock_timeout: float = 900.0
    traffic_rps: float = 0.0  # synthetic traffic during canaries (demo, tests)
    approvals: str = "local"  # where approvals come from: local (`shipyard approve`), github
    head: str | None = None  # the commit being applied (GitHub approvals); default: HEAD
    only_env: str | None = None  # apply to this environment only (CI: one job per environment)


@dataclass(frozen=True)
class ReleaseContext:
    """One spec's apply: what every stage of it reads."""

    spec: ModelDeployment
    spec_file: Path
    ws: Workspace
    options: ApplyOptions
    say: Say
    ledger: Ledger = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "ledger", ledger_of(self.ws))

    @property
    def name(self) -> str:
        return self.spec.metadata.name

    def record(self, kind: LedgerKind, env: str | None = None, **details: Any) -> LedgerEntry:
        """One ledger entry of this spec (and environment)."""
        return self.ledger.append(kind, self.name, env, **details)

    def released(self, env: str, release: Release, how: str, entry: LedgerEntry) -> None:
        """`release` now serves all of `env`'s traffic: one more line of its release history
        in the state store (what `rollback` goes back to, on any machine)."""
        record = {"bento": release.bento, "how": how, "seq": entry.seq}
        self.ledger.store.add_release(self.name, env, release.model, record)


@dataclass(frozen=True)
class EnvRelease:
    """One environment's part of a release."""

    ctx: ReleaseContext
    env: Environment
    release: Release
    target: Target
    check: ApprovalCheck
    rows: list[dict[str, Any]] = field(default_factory=list)  # evaluation rows for the gates

    @property
    def where(self) -> str:
        """`spec/env`, as every line about this environment starts."""
        return f"{self.ctx.name}/{self.env.name}"

    def record(self, kind: LedgerKind, **details: Any) -> LedgerEntry:
        return self.ctx.record(kind, self.env.name, **details)

    def say(self, text: str) -> None:
        self.ctx.say(text)
