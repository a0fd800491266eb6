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
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

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


@dataclass
class ChainPart:
    """What one stretch of the chain says: rows read, its last row, its problems (at most
    `limit`, `extra` counts the rest) and the hashes of the checkpointed rows it holds."""

    count: int = 0
    head: tuple[int, str] | None = None
    problems: list[str] = field(default_factory=list)
    extra: int = 0
    found: dict[int, str] = field(default_factory=dict)


Row = tuple[Any, ...]  # a LedgerRow, or a driver's row of the same columns in the same order


def verify_chain(
    rows: Iterable[Row],
    checkpoints: Iterable[Mapping[str, Any]],
    signature: SignatureCheck | None = None,
    limit: int = 200,
) -> ChainReport:
    """The chain's report; at most `limit` problems are listed (the count says if more)."""
    wanted = {int(c["seq"]): c for c in checkpoints}
    return conclude([scan_chain(rows, set(wanted), limit=limit)], wanted, signature, limit)


def scan_chain(
    rows: Iterable[Row],
    wanted: Collection[int],
    after: tuple[int, str] = (0, GENESIS),
    limit: int = 200,
) -> ChainPart:
    """Check a stretch of rows that follows the row `after` (seq, hash) — the genesis for
    the whole chain. Stretches that follow each other's last row, checked apart and
    concluded together, report exactly what one pass over all of them would."""
    part = ChainPart()
    seq, prev = after
    sha256, count = hashlib.sha256, 0
    quoted: dict[Any, str] = {}  # JSON of the column values: few kinds, specs, environments
    for row in rows:
        count += 1
        row_seq, ts, kind, spec, env, row_prev, digest, body = row
        if row_seq == seq + 1 and row_prev == prev:  # the common case: no parse of the body
            try:
                tail = (
                    f'"env": {quoted.get(env) or _quote(quoted, env)}, '
                    f'"kind": {quoted.get(kind) or _quote(quoted, kind)}, '
                    f'"prev": "{prev}", "seq": {row_seq}, '
                    f'"spec": {quoted.get(spec) or _quote(quoted, spec)}, "ts": {ts!r}}}'
                )
                if (
                    body[:12] == '{"details": '
                    and body.endswith(tail)
                    and body[-len(tail) - 2 : -len(tail)] == ", "
                    and sha256(body.encode()).hexdigest() == digest
                ):
                    seq, prev = row_seq, digest
                    if seq in wanted:
                        part.found[seq] = digest
                    continue
            except (TypeError, AttributeError):  # a column of the wrong type: malformed
                pass
        problems = _row_problems(row, prev, seq)
        if len(part.problems) < limit:
            part.problems.extend(problems)
        else:
            part.extra += len(problems)
        if isinstance(row_seq, int):
            if row_seq in wanted:
                part.found[row_seq] = digest
            seq, prev = row_seq, digest
    part.count = count
    part.head = (seq, prev) if count else None
    return part


def conclude(
    parts: Sequence[ChainPart],
    checkpoints: Mapping[int, Mapping[str, Any]],
    signature: SignatureCheck | None = None,
    limit: int = 200,
) -> ChainReport:
    """The report of a chain checked as `parts`, in order, and its signed checkpoints."""
    report = ChainReport(checkpoints=len(checkpoints))
    found: dict[int, str] = {}
    extra = 0
    for part in parts:
        report.count += part.count
        report.head = part.head or report.head
        found.update(part.found)
        if len(report.problems) < limit:
            report.problems.extend(part.problems)
        else:
            extra += len(part.problems)
        extra += part.extra
    last = report.head[0] if report.head else 0
    report.problems.extend(_checkpoint_problems(checkpoints, found, last, signature))
    if extra:
        report.problems.append(f"... and {extra} more problems")
    return report


def _quote(quoted: dict[Any, str], value: Any) -> str:
    quoted[value] = text = json.dumps(value)
    return text


def _row_problems(row: Row, prev: str, seq: int) -> list[str]:
    row_seq, ts, kind, spec, env, row_prev, digest, text = row
    where = f"seq {row_seq}"
    if not (isinstance(row_seq, int) and isinstance(text, str) and isinstance(digest, str)):
        kinds = f"seq {type(row_seq).__name__}, body {type(text).__name__}"
        return [f"{where}: malformed row, not a ledger record ({kinds})"]
    links = _links(row_seq, row_prev, prev, seq)
    if hashlib.sha256(text.encode()).hexdigest() != digest:
        return [f"{where}: content does not match its hash (edited)", *links]
    try:
        body = json.loads(text)
        if not isinstance(body, dict) or set(body) != _FIELDS:
            raise ValueError(f"fields {sorted(body) if isinstance(body, dict) else type(body)}")
    except ValueError as exc:
        return [f"{where}: malformed entry, not a ledger record ({exc})"]
    problems = []
    if body["seq"] != row_seq:
        problems.append(f"{where}: stored as seq {row_seq} but its content says {body['seq']}")
    if body["prev"] != row_prev:
        problems.append(
            f"{where}: its prev column differs from its content (edited outside Shipyard)"
        )
    if body["ts"] != ts:
        problems.append(
            f"{where}: its ts column differs from its content (edited outside Shipyard)"
        )
    if (body["kind"], body["spec"], body["env"]) != (kind, spec, env):
        problems.append(
            f"{where}: columns say {kind} {spec}/{env} but the entry says "
            f"{body['kind']} {body['spec']}/{body['env']} (edited outside Shipyard)"
        )
    return problems + links


def _links(row_seq: int, row_prev: object, prev: str, seq: int) -> list[str]:
    problems = []
    if row_prev != prev:
        problems.append(f"seq {row_seq}: does not follow the entry before it (seq {seq})")
    if row_seq != seq + 1:
        what = "missing entries" if row_seq > seq + 1 else "out of order"
        problems.append(f"seq {row_seq} after seq {seq}: {what}")
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
