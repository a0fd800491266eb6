"""The ledger's hash chain catches edits; the last entry per environment is found."""

from __future__ import annotations

import json
from pathlib import Path

from pipelines.audit.ledger import Ledger, LedgerKind


def test_ledger_chain_verifies_and_catches_an_edit(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "ledger.jsonl")
    first = ledger.append(LedgerKind.GATES, "credit-risk", passed=True)
    second = ledger.append(
        LedgerKind.PROMOTED, "credit-risk", "production", model="models:/credit-risk/1"
    )
    assert second.prev == first.hash
    assert second.seq == 2
    assert ledger.verify() == []
    lines = ledger.path.read_text().splitlines()
    edited = json.loads(lines[0])
    edited["details"]["passed"] = False
    ledger.path.write_text("\n".join([json.dumps(edited), lines[1]]) + "\n")
    assert ledger.verify() == [
        "line 1: content does not match its hash (edited)",
    ]
    ledger.path.write_text(lines[1] + "\n")
    assert ledger.verify() == [
        "line 1: does not follow the entry before it",
        "line 1: sequence 2 after 0",
    ]


def test_ledger_last_entry_per_environment(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "ledger.jsonl")
    ledger.append(LedgerKind.PROMOTED, "a", "staging")
    ledger.append(LedgerKind.ROLLBACK, "a", "production")
    ledger.append(LedgerKind.PROMOTED, "a", "production")
    last = ledger.last("a", "production", (LedgerKind.ROLLBACK,))
    assert last is not None
    assert last.seq == 2
