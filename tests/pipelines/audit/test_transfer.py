"""The ledger as JSON Lines: an export is the old `.shipyard/ledger.jsonl` format, line for
line; importing it into a fresh store keeps every hash and verifies, and ends with an
`imported` entry; a broken or garbled file is refused at its line with nothing written, and
so is an import into a store whose ledger is not empty."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pytest

from pipelines.audit.ledger import GENESIS, Ledger, LedgerEntry, LedgerKind
from pipelines.audit.transfer import (
    IMPORT_SPEC,
    LedgerFileError,
    export_file,
    export_jsonl,
    import_jsonl,
)
from pipelines.audit.verify import verify_chain
from pipelines.core.errors import UsageError
from pipelines.state.store import forget_stores, open_store


@pytest.fixture(autouse=True)
def _forget_stores() -> Iterator[None]:
    yield
    forget_stores()


def store_ledger(tmp_path: Path, name: str) -> Ledger:
    return Ledger(open_store(f"sqlite:///{tmp_path / name}"))


@pytest.fixture
def source(tmp_path: Path) -> Ledger:
    ledger = store_ledger(tmp_path, "source.db")
    ledger.append(LedgerKind.GATES, "credit", None, passed=True, scores={"auc": 0.8125})
    ledger.append(LedgerKind.BUILD, "credit", None, bento=Path("/b/credit"), tags=("a", "b"))
    ledger.append(LedgerKind.PROMOTED, "credit", "staging", model="models:/credit/1", by="Zoë")
    ledger.append(LedgerKind.ROLLBACK, "fraud", "production", weights={1: 100})
    return ledger


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.integration)])
def fresh(request: pytest.FixtureRequest, tmp_path: Path) -> Ledger:
    """An empty store to import into: a SQLite file, or a fresh PostgreSQL database."""
    if request.param == "postgresql":
        return Ledger(open_store(request.getfixturevalue("postgres_url")))
    return store_ledger(tmp_path, "fresh.db")


def old_ledger_file(path: Path, count: int = 3) -> list[str]:
    """A ledger.jsonl as the file-based ledger wrote it: each entry's hash its digest."""
    lines, prev = [], GENESIS
    for seq in range(1, count + 1):
        entry = LedgerEntry(
            seq, 1_700_000_000.5 + seq, "promoted", "credit", "prod", {"n": seq}, prev
        )
        entry = LedgerEntry(**{**asdict(entry), "hash": entry.digest()})
        lines.append(json.dumps(asdict(entry), sort_keys=True, default=str))
        prev = entry.hash
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return lines


def test_export_writes_one_entry_a_line_in_the_old_format(source: Ledger) -> None:
    out = io.StringIO()
    assert export_jsonl(source, out) == 4
    lines = out.getvalue().splitlines()
    assert lines == [
        json.dumps(asdict(entry), sort_keys=True, default=str) for entry in source.entries()
    ]
    assert [json.loads(line)["seq"] for line in lines] == [1, 2, 3, 4]
    assert json.loads(lines[1])["details"] == {"bento": "/b/credit", "tags": ["a", "b"]}


def test_export_then_import_keeps_every_hash_and_verifies(
    source: Ledger, fresh: Ledger, tmp_path: Path
) -> None:
    path = tmp_path / "ledger.jsonl"
    assert export_file(source, path) == 4
    assert not list(tmp_path.glob(".*.part"))
    assert import_jsonl(fresh, path) == 4
    before, after = list(source.store.ledger_rows()), list(fresh.store.ledger_rows())
    assert after[:4] == before
    imported = list(fresh.entries())[-1]
    assert (imported.seq, imported.kind, imported.spec, imported.env) == (
        5,
        "imported",
        IMPORT_SPEC,
        None,
    )
    assert imported.details == {
        "file": str(path),
        "count": 4,
        "head_seq": 4,
        "head": before[-1].hash,
    }
    assert verify_chain(fresh.store.ledger_rows(), []).intact
    assert fresh.verify() == []


def test_a_file_the_old_ledger_wrote_imports(fresh: Ledger, tmp_path: Path) -> None:
    path = tmp_path / "ledger.jsonl"
    lines = old_ledger_file(path)
    path.write_text(path.read_text() + "\n", encoding="utf-8")  # a blank line is skipped
    assert import_jsonl(fresh, path) == 3
    assert [row.hash for row in fresh.store.ledger_rows()][:3] == [
        json.loads(line)["hash"] for line in lines
    ]


def edited(lines: list[str]) -> list[str]:
    entry = json.loads(lines[1])
    entry["details"]["n"] = 99
    return [lines[0], json.dumps(entry, sort_keys=True), *lines[2:]]


@pytest.mark.parametrize(
    ("damage", "found"),
    [
        (edited, ":2: seq 2: content does not match its hash (edited)"),
        (
            lambda lines: [lines[0], lines[2]],
            ":2: seq 3: does not follow the entry before it (seq 1)\n"
            "  {path}:2: seq 3 after seq 1: missing entries",
        ),
        (
            lambda lines: [lines[0], lines[2], lines[1]],
            ":2: seq 3: does not follow the entry before it (seq 1)\n"
            "  {path}:2: seq 3 after seq 1: missing entries\n"
            "  {path}:3: seq 2: does not follow the entry before it (seq 3)\n"
            "  {path}:3: seq 2 after seq 3: out of order",
        ),
    ],
    ids=["edited", "deleted", "reordered"],
)
def test_a_broken_chain_is_refused_at_its_line(
    fresh: Ledger, tmp_path: Path, damage: Any, found: str
) -> None:
    path = tmp_path / "ledger.jsonl"
    path.write_text("\n".join(damage(old_ledger_file(path))) + "\n", encoding="utf-8")
    with pytest.raises(LedgerFileError, match=r"is broken; nothing was imported") as refused:
        import_jsonl(fresh, path)
    assert str(refused.value) == (
        f"the chain of {path} is broken; nothing was imported:\n  {path}"
        + found.replace("{path}", str(path))
    )
    assert "import an untouched copy" in refused.value.hint
    assert list(fresh.store.ledger_rows()) == []


def line_with(change: dict[str, Any], drop: str = "") -> Any:
    def damage(lines: list[str]) -> list[str]:
        entry = {**json.loads(lines[1]), **change}
        entry.pop(drop, None)
        return [lines[0], json.dumps(entry), *lines[2:]]

    return damage


@pytest.mark.parametrize(
    ("damage", "what"),
    [
        (lambda lines: [lines[0], lines[1][:-5], lines[2]], "not JSON (Expecting"),
        (lambda lines: [lines[0], "[1, 2]", lines[2]], "a JSON list, not an object"),
        (line_with({}, drop="prev"), "fields: missing prev"),
        (line_with({"extra": 1}, drop="ts"), "fields: missing ts; unknown extra"),
        (line_with({"seq": "2"}), 'seq: "2" is not a positive whole number'),
        (line_with({"details": []}), "details: [] is not an object"),
        (line_with({"env": 3}), "env: 3 is not a string or null"),
        (line_with({"kind": "k" * 41}), "kind: 41 characters, longer than the store keeps (40)"),
    ],
    ids=["not-json", "not-object", "missing", "unknown", "seq-type", "details", "env", "long"],
)
def test_a_garbled_line_is_refused_at_its_line(
    fresh: Ledger, tmp_path: Path, damage: Any, what: str
) -> None:
    path = tmp_path / "ledger.jsonl"
    path.write_text("\n".join(damage(old_ledger_file(path))) + "\n", encoding="utf-8")
    with pytest.raises(LedgerFileError, match=r":2: not a ledger entry: ") as refused:
        import_jsonl(fresh, path)
    assert str(refused.value).startswith(f"{path}:2: not a ledger entry: {what}")
    assert "Nothing was imported" in refused.value.hint
    assert list(fresh.store.ledger_rows()) == []


def test_an_import_into_a_ledger_with_entries_is_refused(fresh: Ledger, tmp_path: Path) -> None:
    path = tmp_path / "ledger.jsonl"
    old_ledger_file(path)
    mine = fresh.append(LedgerKind.GATES, "credit", passed=True)
    with pytest.raises(UsageError, match=r"is not empty: importing would mix two chains$"):
        import_jsonl(fresh, path)
    assert list(fresh.entries()) == [mine]


def test_an_empty_or_missing_file_is_refused(fresh: Ledger, tmp_path: Path) -> None:
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n\n", encoding="utf-8")
    with pytest.raises(LedgerFileError, match=r"empty\.jsonl: no ledger entries to import$"):
        import_jsonl(fresh, empty)
    with pytest.raises(UsageError, match=r"gone\.jsonl: cannot read the ledger file \(No such"):
        import_jsonl(fresh, tmp_path / "gone.jsonl")
    assert list(fresh.store.ledger_rows()) == []
