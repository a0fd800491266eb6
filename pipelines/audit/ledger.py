"""The deployment ledger: an append-only, hash-chained record of every gate run, approval,
build, promotion and rollback, kept in the state store. Each entry carries the hash of the
one before, so an edit, removal or reordering anywhere breaks the chain; signed checkpoints
(audit/checkpoint.py) catch a chain whose tail was cut off (`verify`)."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from pipelines.core.errors import ShipyardError

if TYPE_CHECKING:
    from pipelines.audit.verify import ChainPart, ChainReport, SignatureCheck
    from pipelines.core.workspace import Workspace
    from pipelines.state.store import LedgerRow, Store

GENESIS = "0" * 64
PARALLEL_FROM = 200_000  # rows: below this one process checks a chain faster than several
START_METHOD = "fork"  # workers start at once, and need no guarded __main__ (spawn does)


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
    INTERRUPTED = "interrupted"  # a signal stopped a canary: traffic went back to stable
    RECOVERED = "recovered"  # a later run found a dead run's canary and restored stable
    RESUMED = "resumed"  # a later run took a dead run's canary up again at its step
    OPERATOR = "operator"  # an operator's promote, abort, pause, resume or retry of a rollout
    HEALED = "healed"  # the agent put back what drifted from the recorded release
    AGENT = "agent"  # the agent took or left the lead of an environment, or applied a commit
    PROPOSAL = "proposal"  # a revert proposal was written after a rollback
    MONITOR = "monitor"  # a monitor run found a breach and acted
    IMPORTED = "imported"  # `audit import` brought an older ledger into the store


class LedgerError(ShipyardError):
    """A stored ledger row that is not an entry (written by hand, or garbled)."""

    exit_code = 1


@dataclass(frozen=True)
class LedgerEntry:
    seq: int
    ts: float
    kind: str  # a LedgerKind value (kept as the plain string the store holds)
    spec: str
    env: str | None
    details: dict[str, Any] = field(default_factory=dict)
    prev: str = GENESIS
    hash: str = ""

    def body(self) -> str:
        """The canonical JSON the hash covers (every field but the hash)."""
        fields = {k: v for k, v in asdict(self).items() if k != "hash"}
        return json.dumps(fields, sort_keys=True, default=str)

    def digest(self) -> str:
        return hashlib.sha256(self.body().encode()).hexdigest()

    @classmethod
    def from_row(cls, row: LedgerRow) -> LedgerEntry:
        try:
            fields = json.loads(row.body)
            return cls(**fields, hash=row.hash)
        except (ValueError, TypeError) as exc:
            raise LedgerError(
                f"ledger entry seq {row.seq}: not a ledger entry ({exc})",
                hint="run `shipyard audit verify` to see every damaged entry",
            ) from None


class Ledger:
    """The ledger of one state store; appends are serialised by the store."""

    def __init__(self, store: Store) -> None:
        self.store = store

    @property
    def where(self) -> str:
        from pipelines.state.engine import shown

        return shown(self.store.url)

    def append(
        self, kind: LedgerKind, spec: str, env: str | None = None, **details: Any
    ) -> LedgerEntry:
        from pipelines.state.store import LedgerRow

        made: list[LedgerEntry] = []

        def make(seq: int, prev: str) -> LedgerRow:
            entry = LedgerEntry(seq, time.time(), str(kind), spec, env, details, prev)
            body = entry.body()
            digest = hashlib.sha256(body.encode()).hexdigest()
            made.append(LedgerEntry(**{**asdict(entry), "hash": digest}))
            return LedgerRow(seq, entry.ts, entry.kind, spec, env, prev, digest, body)

        self.store.append_ledger(make)
        return made[-1]

    def entries(
        self, spec: str | None = None, env: str | None = None, kinds: tuple[str, ...] = ()
    ) -> Iterator[LedgerEntry]:
        """Entries in order, optionally of one spec (and environment) and kinds."""
        for row in self.store.ledger_rows(spec, env, tuple(str(k) for k in kinds)):
            yield LedgerEntry.from_row(row)

    def last(
        self, spec: str, env: str | None, kinds: tuple[LedgerKind, ...] = ()
    ) -> LedgerEntry | None:
        if env is None:  # spec-level entries (env NULL) are not selected by spec+env
            found = None
            for entry in self.entries(spec, None, kinds):
                if entry.env is None:
                    found = entry
            return found
        rows = self.store.ledger_rows(spec, env, tuple(map(str, kinds)), newest_first=True, limit=1)
        for row in rows:
            return LedgerEntry.from_row(row)
        return None

    def verify(self) -> list[str]:
        """Every break, as `seq N: what is wrong`, with the checkpoints' findings; empty
        when intact (see audit/verify.py)."""
        return self.report().problems

    def report(self, signature: SignatureCheck | None = None, workers: int = 0) -> ChainReport:
        """The chain's report (audit/verify.py), its checkpoints' signatures checked with
        `signature`. A large ledger is read in stretches by `workers` processes at once (by
        default one per CPU, up to four): each checks the rows after the last row of the
        stretch before it, and concluded in order they say exactly what one pass would."""
        import os

        from pipelines.audit.verify import conclude, scan_chain

        checkpoints = {int(c["seq"]): c for c in self.store.checkpoints()}
        head = self.store.ledger_head()
        last = head[0] if head else 0
        workers = workers or (min(os.cpu_count() or 1, 4) if last >= PARALLEL_FROM else 1)
        wanted = set(checkpoints)
        if workers == 1:
            return conclude([scan_chain(self.store.ledger_scan(), wanted)], checkpoints, signature)
        from concurrent.futures import ProcessPoolExecutor
        from multiprocessing import get_context

        cuts: list[int | None] = [last * i // workers for i in range(1, workers)]
        # stretch 0: seq <= cuts[0]; stretch i: cuts[i-1] < seq <= cuts[i]; the last: the rest
        stretches = list(zip([None, *cuts], [*cuts, None], strict=True))
        with ProcessPoolExecutor(workers - 1, mp_context=get_context(START_METHOD)) as pool:
            later = [
                pool.submit(
                    _stretch, self.store.url, after, upto, self.store.ledger_head(after), wanted
                )
                for after, upto in stretches[1:]
            ]
            parts = [scan_chain(self.store.ledger_scan(*stretches[0]), wanted)]
            parts += [future.result() for future in later]
        return conclude(parts, checkpoints, signature)


def _stretch(
    url: str,
    after: int | None,
    upto: int | None,
    start: tuple[int, str] | None,
    wanted: set[int],
) -> ChainPart:
    """In a worker process (forked): check the rows with `after` < seq <= `upto`, which
    follow the row `start` (seq, hash; None when no row comes before them). It connects
    anew and never touches the connections it inherited."""
    from pipelines.audit.verify import scan_chain
    from pipelines.state.store import Store

    rows = Store(url).ledger_scan(after, upto)  # its own engine: none of the parent's
    return scan_chain(rows, wanted, after=start or (0, GENESIS))


def ledger_of(ws: Workspace) -> Ledger:
    """The ledger of a project's state store (`SHIPYARD_STATE_URL`, else .shipyard/state.db)."""
    from pipelines.state.store import open_store

    return Ledger(open_store(ws.state_url))
