"""`shipyard ledger verify|show|export|import` (and its alias `audit`) over the project's
state store: the chain and its signed checkpoints checked, with the head when intact and each
problem named (a garbled row too) when not; the entries printed; the ledger written out as
JSON Lines and brought into a fresh store, a broken file refused at its line."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from pipelines.audit.checkpoint import write_checkpoint
from pipelines.audit.ledger import Ledger, LedgerKind, ledger_of
from pipelines.build.signing import signing_key
from pipelines.cli import ledger
from pipelines.core.workspace import Workspace
from pipelines.state.store import forget_stores
from tests.fakes.cli import parse, shipyard


@pytest.fixture(autouse=True)
def _forget_stores() -> Iterator[None]:
    yield
    forget_stores()


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    ws = Workspace.at(tmp_path / "project")
    entries = ledger_of(ws)
    entries.append(LedgerKind.GATES, "credit", None, model="models:/credit/1", passed=True)
    entries.append(LedgerKind.PROMOTED, "credit", "staging", model="models:/credit/1")
    entries.append(LedgerKind.PROMOTED, "fraud", "production", model="models:/fraud/2")
    return ws


def sql(ledger: Ledger, statement: str, **params: object) -> None:
    import sqlalchemy as sa

    with ledger.store.engine.begin() as conn:
        conn.execute(sa.text(statement), params)


def test_an_intact_chain_verifies_with_its_head(
    ws: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    write_checkpoint(ledger_of(ws), signing_key(ws.bentoml_home), "apply credit")
    head = ledger_of(ws).store.ledger_head()
    assert head is not None
    for verb in ("ledger", "audit"):
        ran = shipyard(capsys, "-C", str(ws.root), verb, "verify")
        assert (ran.code, ran.err) == (0, "")
        assert ran.out.splitlines() == [
            "3 entries, 1 checkpoints; chain intact",
            f"head: seq 3 sha256 {head[1]}",
        ]


def test_an_edited_entry_breaks_the_chain(
    ws: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    store = ledger_of(ws)
    sql(store, "UPDATE ledger SET body = replace(body, 'credit/1', 'credit/9') WHERE seq = 2")
    ran = shipyard(capsys, "-C", str(ws.root), "ledger", "verify")
    assert ran.code == 1
    assert ran.out.splitlines() == [
        f"{store.where}: seq 2: content does not match its hash (edited)",
        "3 entries, 0 checkpoints; chain BROKEN",
    ]


def test_a_cut_off_tail_and_a_forged_checkpoint_are_named(
    ws: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    store = ledger_of(ws)
    write_checkpoint(store, signing_key(ws.bentoml_home), "apply fraud")
    sql(store, "DELETE FROM ledger WHERE seq = 3")
    write_checkpoint(store, signing_key(ws.root / "another-key"), "monitor")
    ran = shipyard(capsys, "-C", str(ws.root), "audit", "verify")
    assert ran.code == 1
    first, second, summary = ran.out.splitlines()
    assert first == (
        f"{store.where}: checkpoint of seq 2 (monitor): signed by key "
        f"{signing_key(ws.root / 'another-key').fingerprint[:16]}, not the verifying key "
        f"{signing_key(ws.bentoml_home).fingerprint[:16]} (set SHIPYARD_SIGNING_PUBLIC_KEY to "
        "the key that signed it)"
    )
    assert second == (
        f"{store.where}: checkpoint of seq 3 (apply fraud): the chain ends at seq 2, before "
        "this signed checkpoint — entries 3..3 were removed (truncated)"
    )
    assert summary == "2 entries, 2 checkpoints; chain BROKEN"


def test_a_garbled_row_is_a_named_problem_not_a_traceback(
    ws: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    store = ledger_of(ws)
    head = store.store.ledger_head()
    assert head is not None
    sql(
        store,
        "INSERT INTO ledger VALUES (4, 0, 'promoted', 'credit', NULL, :prev, :hash, 'not json')",
        prev=head[1],
        hash=hashlib.sha256(b"not json").hexdigest(),
    )
    ran = shipyard(capsys, "-C", str(ws.root), "ledger", "verify")
    assert (ran.code, ran.err) == (1, "")
    assert ran.out.splitlines() == [
        f"{store.where}: seq 4: malformed entry, not a ledger record (Expecting value: line 1 "
        "column 1 (char 0))",
        "4 entries, 0 checkpoints; chain BROKEN",
    ]
    shown = shipyard(capsys, "-C", str(ws.root), "ledger", "show")
    assert shown.code == 1
    assert shown.err.splitlines() == [
        "error: ledger entry seq 4: not a ledger entry (Expecting value: line 1 column 1 (char 0))",
        "  hint: run `shipyard audit verify` to see every damaged entry",
    ]


def test_show_prints_the_entries_of_one_spec_or_all(
    ws: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    every = shipyard(capsys, "-C", str(ws.root), "ledger", "show").out.splitlines()
    assert [line.split()[:3] for line in every] == [
        ["1", "gates", "credit/-"],
        ["2", "promoted", "credit/staging"],
        ["3", "promoted", "fraud/production"],
    ]
    assert every[1].endswith('{"model": "models:/credit/1"}')
    mine = shipyard(capsys, "-C", str(ws.root), "ledger", "show", "--spec", "fraud")
    assert [line.split()[0] for line in mine.out.splitlines()] == ["3"]


def test_export_then_import_into_a_fresh_store(
    ws: Workspace, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = shipyard(capsys, "-C", str(ws.root), "ledger", "export")
    assert (out.code, out.err) == (0, f"3 entries exported from {ledger_of(ws).where}\n")
    assert [json.loads(line)["hash"] for line in out.out.splitlines()] == [
        row.hash for row in ledger_of(ws).store.ledger_rows()
    ]
    path = tmp_path / "exported.jsonl"
    to_file = shipyard(capsys, "-C", str(ws.root), "audit", "export", "--out", str(path))
    assert to_file.out == f"3 entries exported from {ledger_of(ws).where} to {path}\n"
    assert path.read_text(encoding="utf-8") == out.out

    fresh = Workspace.at(tmp_path / "fresh")
    ran = shipyard(capsys, "-C", str(fresh.root), "audit", "import", str(path))
    assert (ran.code, ran.err) == (0, "")
    assert (
        ran.out == f"3 entries imported from {path} into {ledger_of(fresh).where}; chain intact\n"
    )
    verified = shipyard(capsys, "-C", str(fresh.root), "ledger", "verify")
    assert verified.out.splitlines()[0] == "4 entries, 0 checkpoints; chain intact"
    again = shipyard(capsys, "-C", str(fresh.root), "audit", "import", str(path))
    assert again.code == 2
    assert "is not empty: importing would mix two chains" in again.err


def test_a_broken_file_is_refused_at_its_line(
    ws: Workspace, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = shipyard(capsys, "-C", str(ws.root), "ledger", "export").out.splitlines()
    path = tmp_path / "ledger.jsonl"
    path.write_text("\n".join([lines[0], lines[2]]) + "\n", encoding="utf-8")
    fresh = Workspace.at(tmp_path / "fresh")
    ran = shipyard(capsys, "-C", str(fresh.root), "ledger", "import", str(path))
    assert ran.code == 2
    assert ran.err.splitlines()[:3] == [
        f"error: the chain of {path} is broken; nothing was imported:",
        f"  {path}:2: seq 3: does not follow the entry before it (seq 1)",
        f"  {path}:2: seq 3 after seq 1: missing entries",
    ]
    assert list(ledger_of(fresh).entries()) == []


def test_arguments() -> None:
    assert (parse(ledger, "show", "--spec", "a").action, parse(ledger, "verify").action) == (
        "show",
        "verify",
    )
    assert parse(ledger, "export").out is None
    assert parse(ledger, "import", "old.jsonl").file == Path("old.jsonl")
    with pytest.raises(SystemExit, match=r"^2$"):
        parse(ledger, "repair")
    with pytest.raises(SystemExit, match=r"^2$"):
        parse(ledger, "import")
