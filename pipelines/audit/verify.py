"""Check a ledger: each row's hash covers its body, each body follows the one before
(sequence and previous hash), the query columns agree with the body, and every signed
checkpoint names an entry that is still there with the same hash — so edits, deletions,
reordering and a cut-off tail are all reported, and a garbled row is named, not a crash.

Pure over its inputs (rows and checkpoints as the store returns them); the signature check
is passed in.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pipelines.state.store import LedgerRow

GENESIS = "0" * 64
_FIELDS = {"seq", "ts", "kind", "spec", "env", "details", "prev"}
SignatureCheck = Callable[[Mapping[str, Any]], str | None]  # a problem, or None when valid


@dataclass
class ChainReport:
    count: int = 0  # rows read
    head: tuple[int, str] | None = None  # (seq, hash) of the last row
    problems: list[str] = field(default_factory=list)
    checkpoints: int = 0  # checkpoints checked

    @property
    def intact(self) -> bool:
        return not self.problems


def verify_chain(
    rows: Iterable[LedgerRow],
    checkpoints: Iterable[Mapping[str, Any]],
    signature: SignatureCheck | None = None,
    limit: int = 200,
) -> ChainReport:
    """The chain's report; at most `limit` problems are listed (the count says if more)."""
    wanted = {int(c["seq"]): c for c in checkpoints}
    report = ChainReport(checkpoints=len(wanted))
    found: dict[int, str] = {}
    prev, seq, extra = GENESIS, 0, 0
    sha256, loads = hashlib.sha256, json.loads
    for row in rows:
        report.count += 1
        if _sound(row, prev, seq, sha256):  # the common case, without parsing the body
            prev, seq = row.hash, row.seq
            if seq in wanted:
                found[seq] = row.hash
            continue
        problems = _row_problems(row, prev, seq, sha256, loads)
        if problems:
            if len(report.problems) < limit:
                report.problems.extend(problems)
            else:
                extra += len(problems)
        if isinstance(row.seq, int):
            if row.seq in wanted:
                found[row.seq] = row.hash
            prev, seq = row.hash, row.seq
    report.head = (seq, prev) if report.count else None
    report.problems.extend(_checkpoint_problems(wanted, found, seq, signature))
    if extra:
        report.problems.append(f"... and {extra} more problems")
    return report


def _sound(row: LedgerRow, prev: str, seq: int, sha256: Any) -> bool:
    """True when the row is intact: it follows the one before, its body hashes to its hash,
    and its columns are the body's own values. The body is the canonical JSON of the entry
    (keys sorted, `details` first), so the columns' values must be its exact tail — a
    comparison of strings instead of a parse. Anything else takes the slow path, which says
    what is wrong."""
    try:
        if row.seq != seq + 1 or row.prev != prev:
            return False
        tail = (
            f'"env": {_dumps(row.env)}, "kind": {_dumps(row.kind)}, "prev": "{row.prev}", '
            f'"seq": {row.seq}, "spec": {_dumps(row.spec)}, "ts": {row.ts!r}}}'
        )
        body = row.body
        return (
            body.startswith('{"details": ')
            and body.endswith(tail)
            and body[-len(tail) - 2 : -len(tail)] == ", "
            and sha256(body.encode()).hexdigest() == row.hash
        )
    except (TypeError, AttributeError):  # a column of the wrong type: malformed
        return False


def _dumps(value: object) -> str:
    return json.dumps(value)


def _row_problems(row: LedgerRow, prev: str, seq: int, sha256: Any, loads: Any) -> list[str]:
    where = f"seq {row.seq}"
    if not (isinstance(row.seq, int) and isinstance(row.body, str) and isinstance(row.hash, str)):
        kinds = f"seq {type(row.seq).__name__}, body {type(row.body).__name__}"
        return [f"{where}: malformed row, not a ledger record ({kinds})"]
    if sha256(row.body.encode()).hexdigest() != row.hash:
        return [f"{where}: content does not match its hash (edited)", *_links(row, prev, seq)]
    try:
        body = loads(row.body)
        if not isinstance(body, dict) or set(body) != _FIELDS:
            raise ValueError(f"fields {sorted(body) if isinstance(body, dict) else type(body)}")
    except ValueError as exc:
        return [f"{where}: malformed entry, not a ledger record ({exc})"]
    problems = []
    if body["seq"] != row.seq:
        problems.append(f"{where}: stored as seq {row.seq} but its content says {body['seq']}")
    if body["prev"] != row.prev:
        problems.append(
            f"{where}: its prev column differs from its content (edited outside Shipyard)"
        )
    if body["ts"] != row.ts:
        problems.append(
            f"{where}: its ts column differs from its content (edited outside Shipyard)"
        )
    if (body["kind"], body["spec"], body["env"]) != (row.kind, row.spec, row.env):
        problems.append(
            f"{where}: columns say {row.kind} {row.spec}/{row.env} but the entry says "
            f"{body['kind']} {body['spec']}/{body['env']} (edited outside Shipyard)"
        )
    return problems + _links(row, prev, seq)


def _links(row: LedgerRow, prev: str, seq: int) -> list[str]:
    problems = []
    if row.prev != prev:
        problems.append(f"seq {row.seq}: does not follow the entry before it (seq {seq})")
    if row.seq != seq + 1:
        what = "missing entries" if row.seq > seq + 1 else "out of order"
        problems.append(f"seq {row.seq} after seq {seq}: {what}")
    return problems


def _checkpoint_problems(
    wanted: Mapping[int, Mapping[str, Any]],
    found: Mapping[int, str],
    last_seq: int,
    signature: SignatureCheck | None,
) -> list[str]:
    problems = []
    for seq, checkpoint in sorted(wanted.items()):
        at = f"checkpoint of seq {seq} ({checkpoint.get('reason', '')})"
        if signature is not None:
            bad = signature(checkpoint)
            if bad:
                problems.append(f"{at}: {bad}")
                continue
        if seq > last_seq:
            problems.append(
                f"{at}: the chain ends at seq {last_seq}, before this signed checkpoint — "
                f"entries {last_seq + 1}..{seq} were removed (truncated)"
            )
        elif seq not in found:
            problems.append(f"{at}: the entry it signed is gone")
        elif found[seq] != checkpoint["head"]:
            problems.append(f"{at}: the entry's hash is not the one signed (rewritten chain)")
    return problems
