"""`shipyard ledger verify|show` (and its alias `audit`): the chain checked, or the entries
printed one per line, optionally of one spec."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipelines.audit.ledger import LedgerKind, ledger_of
from pipelines.cli import ledger
from pipelines.core.workspace import Workspace
from tests.fakes.cli import parse, shipyard


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    ws = Workspace.at(tmp_path)
    entries = ledger_of(ws)
    entries.append(LedgerKind.GATES, "credit", None, model="models:/credit/1", passed=True)
    entries.append(LedgerKind.PROMOTED, "credit", "staging", model="models:/credit/1")
    entries.append(LedgerKind.PROMOTED, "fraud", "production", model="models:/fraud/2")
    return ws


def test_an_intact_chain_verifies(ws: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    for verb in ("ledger", "audit"):
        ran = shipyard(capsys, "-C", str(ws.root), verb, "verify")
        assert (ran.code, ran.out) == (0, "3 entries; chain intact\n")


def test_an_edited_entry_breaks_the_chain(
    ws: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    path = ledger_of(ws).path
    lines = path.read_text().splitlines()
    edited = json.loads(lines[1])
    edited["details"]["model"] = "models:/credit/9"
    path.write_text("\n".join([lines[0], json.dumps(edited), lines[2]]) + "\n")
    ran = shipyard(capsys, "-C", str(ws.root), "ledger", "verify")
    assert ran.code == 1
    assert ran.out.splitlines() == [
        f"{path}: line 2: content does not match its hash (edited)",
        "3 entries; chain BROKEN",
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


def test_arguments() -> None:
    assert (parse(ledger, "show", "--spec", "a").action, parse(ledger, "verify").spec) == (
        "show",
        None,
    )
    with pytest.raises(SystemExit, match=r"^2$"):
        parse(ledger, "repair")
