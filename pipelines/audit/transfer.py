"""The ledger as JSON Lines, one entry per line exactly as `.shipyard/ledger.jsonl` held them:
`export_jsonl` writes the store's ledger out (a copy kept outside the store), `import_jsonl`
brings an older project's file into an empty store.

An import checks the whole file first — every line an entry, the chain intact by the rules of
`audit verify` (audit/verify.py) — and writes nothing unless it all holds; then the rows go in
as one transaction, followed by an `imported` entry naming the file, the count and the head.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Iterator
from dataclasses import asdict, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from pipelines.audit.ledger import LedgerEntry, LedgerKind
from pipelines.core.errors import UsageError

if TYPE_CHECKING:
    from pipelines.audit.ledger import Ledger
    from pipelines.state.store import LedgerRow

KEYS = tuple(f.name for f in fields(LedgerEntry))  # seq, ts, kind, spec, env, details, prev, hash
IMPORT_SPEC = "(ledger)"  # the spec of the `imported` entry: no spec name can look like it
SHOWN_BREAKS = 10  # broken lines named in a refusal


class LedgerFileError(UsageError):
    """A ledger file that is not an intact chain of entries; nothing was imported."""


def export_jsonl(ledger: Ledger, out: TextIO) -> int:
    """Write every entry, in sequence order, one JSON object a line; the count."""
    count = 0
    for entry in ledger.entries():
        out.write(json.dumps(asdict(entry), sort_keys=True, default=str) + "\n")
        count += 1
    return count


def export_file(ledger: Ledger, path: Path) -> int:
    """`export_jsonl` into `path`, replaced only once every entry is written."""
    part = path.with_name(f".{path.name}.part")
    path.parent.mkdir(parents=True, exist_ok=True)  # CI exports into .shipyard/reports/
    try:
        with part.open("w", encoding="utf-8") as out:
            count = export_jsonl(ledger, out)
        os.replace(part, path)
    finally:
        part.unlink(missing_ok=True)
    return count


def import_jsonl(ledger: Ledger, path: Path) -> int:
    """Check `path` whole, then bulk-insert its entries into the (empty) ledger and record
    the import; the number of entries imported. Refused before anything is written when the
    ledger is not empty, a line is not an entry, or the chain is broken."""
    from pipelines.audit.verify import verify_chain

    ledger.store.import_ledger(iter(()))  # no rows: refuses a non-empty ledger up front
    checked = hashlib.sha256()
    report = verify_chain((row for _, row in _numbered(path, checked)), ())
    if not report.intact:
        raise _broken(path)
    if report.head is None:
        raise LedgerFileError(
            f"{path}: no ledger entries to import",
            hint="point `shipyard audit import` at the ledger.jsonl of the project to bring in",
        )
    count = ledger.store.import_ledger(_unchanged(path, checked.hexdigest()))
    seq, head = report.head
    ledger.append(
        LedgerKind.IMPORTED, IMPORT_SPEC, None, file=str(path), count=count, head_seq=seq, head=head
    )
    return count


# --- reading a file ---------------------------------------------------------------------------


def _numbered(path: Path, digest: Any) -> Iterator[tuple[int, LedgerRow]]:
    """(line number, row) of each non-blank line, its bytes fed to `digest`."""
    try:
        handle = path.open("rb")
    except OSError as exc:
        raise UsageError(
            f"{path}: cannot read the ledger file ({exc.strerror})",
            hint="give the path of a ledger.jsonl (`shipyard audit import .shipyard/ledger.jsonl`)",
        ) from None
    with handle:
        for number, raw in enumerate(handle, start=1):
            digest.update(raw)
            if raw.strip():
                yield number, _row(f"{path}:{number}", raw)


def _unchanged(path: Path, expected: str) -> Iterator[LedgerRow]:
    """The rows again; raises (rolling the import back) if the file changed since checked."""
    digest = hashlib.sha256()
    yield from (row for _, row in _numbered(path, digest))
    if digest.hexdigest() != expected:
        raise LedgerFileError(
            f"{path}: the file changed while it was imported; nothing was imported",
            hint="import a copy nothing else writes to",
        )


def _row(where: str, raw: bytes) -> LedgerRow:
    """The stored row of one line: its body rebuilt by `LedgerEntry.body`, its hash as read."""
    from pipelines.state.store import LedgerRow

    try:
        found = json.loads(raw)
    except ValueError as exc:  # UnicodeDecodeError is one
        raise _malformed(where, f"not JSON ({exc})") from None
    if not isinstance(found, dict):
        raise _malformed(where, f"a JSON {type(found).__name__}, not an object")
    missing = [key for key in KEYS if key not in found]
    unknown = sorted(set(found) - set(KEYS))
    if missing or unknown:
        said = [f"missing {', '.join(missing)}"] if missing else []
        said += [f"unknown {', '.join(unknown)}"] if unknown else []
        raise _malformed(where, f"fields: {'; '.join(said)}")
    bad = _bad_field(found)
    if bad:
        raise _malformed(where, bad)
    entry = LedgerEntry(**{key: found[key] for key in KEYS if key != "hash"})
    return LedgerRow(
        entry.seq, float(entry.ts), entry.kind, entry.spec, entry.env, entry.prev,
        found["hash"], entry.body(),
    )  # fmt: skip


def _bad_field(found: dict[str, Any]) -> str | None:
    """What is wrong with one field's value (the first found), None when all are right."""
    from pipelines.state import schema

    def number(value: Any) -> bool:
        return isinstance(value, int | float) and not isinstance(value, bool)

    checks: dict[str, Callable[[Any], bool]] = {
        "seq": lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 1,
        "ts": number,
        "kind": lambda v: isinstance(v, str),
        "spec": lambda v: isinstance(v, str),
        "env": lambda v: v is None or isinstance(v, str),
        "details": lambda v: isinstance(v, dict),
        "prev": lambda v: isinstance(v, str),
        "hash": lambda v: isinstance(v, str),
    }
    for key, ok in checks.items():
        if not ok(found[key]):
            return f"{key}: {json.dumps(found[key], default=str)[:60]} is not {_WANTED[key]}"
    for key in ("kind", "spec", "env"):
        longest = getattr(schema.ledger.c[key].type, "length", None)
        if found[key] is not None and longest is not None and len(found[key]) > longest:
            return f"{key}: {len(found[key])} characters, longer than the store keeps ({longest})"
    return None


_WANTED = {
    "seq": "a positive whole number",
    "ts": "a number (seconds since the epoch)",
    "kind": "a string",
    "spec": "a string",
    "env": "a string or null",
    "details": "an object",
    "prev": "a string",
    "hash": "a string",
}


def _malformed(where: str, what: str) -> LedgerFileError:
    return LedgerFileError(
        f"{where}: not a ledger entry: {what}",
        hint="each line must be one entry as Shipyard wrote it (keys "
        f"{', '.join(KEYS)}); import an untouched copy (CI keeps one as an artifact). "
        "Nothing was imported",
    )


# --- naming the breaks ------------------------------------------------------------------------


def _broken(path: Path) -> LedgerFileError:
    """The refusal of a broken chain, naming the first lines that break it."""
    lines: list[str] = []
    last = 0
    for shown, (number, problems) in enumerate(_breaks(path)):
        if shown == SHOWN_BREAKS:
            lines.append(f"... and more after line {last}")
            break
        lines += [f"{path}:{number}: {problem}" for problem in problems]
        last = number
    return LedgerFileError(
        f"the chain of {path} is broken; nothing was imported:\n  " + "\n  ".join(lines),
        hint="the file changed after Shipyard wrote it (edited, reordered or cut): import an "
        "untouched copy (CI keeps one as an artifact)",
    )


def _breaks(path: Path) -> Iterator[tuple[int, list[str]]]:
    """(line, problems) of each line that breaks the chain, by verify_chain's own rules: a
    row's problems depend only on it and the row before, so checking the pair (before, row)
    and dropping what the first alone gives leaves the row's own."""
    from pipelines.audit.verify import verify_chain

    before: LedgerRow | None = None
    for number, row in _numbered(path, hashlib.sha256()):
        if before is None:
            problems = verify_chain([row], ()).problems
        else:
            alone = len(verify_chain([before], ()).problems)
            problems = verify_chain([before, row], ()).problems[alone:]
        if problems:
            yield number, problems
        before = row
