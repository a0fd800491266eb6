"""The deployment ledger: an append-only, hash-chained JSONL record of every gate run,
approval, build, promotion and rollback. Each entry carries the hash of the one before, so
an edit or a removal anywhere breaks the chain (`verify`)."""

from __future__ import annotations

import fcntl
import hashlib
import json
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pipelines.core.workspace import Workspace

GENESIS = "0" * 64


class LedgerKind(StrEnum):
    """What an entry records. Readers (explain, rollback, status) select entries by these."""

    GATES = "gates"  # the offline gates of a spec ran
    BLOCKED = "blocked"  # a spec or environment stopped before traffic moved
    BUILD = "build"  # a Bento was built (or reused) and signed
    VERIFIED = "verified"  # its signatures matched before provisioning
    REFUSED = "refused"  # they did not: nothing was deployed
    APPROVAL_GIVEN = "approval-given"  # `shipyard approve` recorded an approval or waiver
    APPROVAL = "approval"  # the approvals that let a release into an environment
    WAIVER = "waiver"  # a failed gate let through by a waiver
    DEPLOY = "deploy"  # a release runs in a slot
    SERVING = "serving"  # the serving gates of a deployed slot
    STEP = "step"  # a canary step set the traffic weights
    ANALYSIS = "analysis"  # one canary measurement and its verdict
    PROMOTED = "promoted"  # the release serves all traffic
    ROLLBACK = "rollback"  # traffic went back to the previous release
    PROPOSAL = "proposal"  # a revert proposal was written after a rollback
    MONITOR = "monitor"  # a monitor run found a breach and acted


@dataclass(frozen=True)
class LedgerEntry:
    seq: int
    ts: float
    kind: str  # a LedgerKind value (kept as the plain string the file holds)
    spec: str
    env: str | None
    details: dict[str, Any] = field(default_factory=dict)
    prev: str = GENESIS
    hash: str = ""

    def digest(self) -> str:
        body = {k: v for k, v in asdict(self).items() if k != "hash"}
        return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()


class Ledger:
    """One file per project (`.shipyard/ledger.jsonl`); appends are serialised by a lock."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def append(
        self, kind: LedgerKind, spec: str, env: str | None = None, **details: Any
    ) -> LedgerEntry:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a+", encoding="utf-8") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                handle.seek(0)
                last = _last(handle.read().splitlines())
                entry = LedgerEntry(
                    seq=last.seq + 1 if last else 1,
                    ts=time.time(),
                    kind=str(kind),
                    spec=spec,
                    env=env,
                    details=details,
                    prev=last.hash if last else GENESIS,
                )
                entry = LedgerEntry(**{**asdict(entry), "hash": entry.digest()})
                handle.write(json.dumps(asdict(entry), sort_keys=True, default=str) + "\n")
                handle.flush()
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)
        return entry

    def entries(self) -> Iterator[LedgerEntry]:
        if not self.path.exists():
            return
        with self.path.open(encoding="utf-8") as handle:
            for line in handle:
                if line.strip():
                    yield LedgerEntry(**json.loads(line))

    def verify(self) -> list[str]:
        """Every break in the chain, as `line N: what is wrong`; empty when intact."""
        problems: list[str] = []
        prev, seq = GENESIS, 0
        for number, entry in enumerate(self.entries(), start=1):
            if entry.prev != prev:
                problems.append(f"line {number}: does not follow the entry before it")
            if entry.hash != entry.digest():
                problems.append(f"line {number}: content does not match its hash (edited)")
            if entry.seq != seq + 1:
                problems.append(f"line {number}: sequence {entry.seq} after {seq}")
            prev, seq = entry.hash, entry.seq
        return problems

    def last(
        self, spec: str, env: str | None, kinds: tuple[LedgerKind, ...] = ()
    ) -> LedgerEntry | None:
        found = None
        for entry in self.entries():
            if entry.spec == spec and entry.env == env and (not kinds or entry.kind in kinds):
                found = entry
        return found


def ledger_of(ws: Workspace) -> Ledger:
    """The ledger of a project's workspace."""
    return Ledger(ws.state / "ledger.jsonl")


def _last(lines: list[str]) -> LedgerEntry | None:
    for line in reversed(lines):
        if line.strip():
            return LedgerEntry(**json.loads(line))
    return None
