"""The ledger over a real state store (SQLite): entries chain, the last entry per environment
is found, and damage done behind Shipyard's back with raw SQL — an edit, a cut-off tail, a
row that is not an entry — is caught by `verify`; reading a garbled row names it."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from pipelines.audit.checkpoint import write_checkpoint
from pipelines.audit.ledger import GENESIS, Ledger, LedgerError, LedgerKind, ledger_of
from pipelines.build.signing import signing_key
from pipelines.core.workspace import Workspace
from pipelines.state.store import forget_stores, open_store


@pytest.fixture(autouse=True)
def _forget_stores() -> Iterator[None]:
    yield
    forget_stores()


@pytest.fixture
def ledger(tmp_path: Path) -> Ledger:
    return Ledger(open_store(f"sqlite:///{tmp_path / 'state.db'}"))


def sql(ledger: Ledger, statement: str, **params: object) -> None:
    """Change the store as someone with the database's password could, past Shipyard."""
    import sqlalchemy as sa

    with ledger.store.engine.begin() as conn:
        conn.execute(sa.text(statement), params)


def test_entries_chain_and_read_back(ledger: Ledger) -> None:
    first = ledger.append(LedgerKind.GATES, "credit-risk", passed=True)
    second = ledger.append(
        LedgerKind.PROMOTED, "credit-risk", "production", model="models:/credit-risk/1"
    )
    assert (first.seq, first.prev, second.seq, second.prev) == (1, GENESIS, 2, first.hash)
    assert second.hash == second.digest()
    assert list(ledger.entries()) == [first, second]
    assert list(ledger.entries("credit-risk", "production")) == [second]
    assert ledger.verify() == []
    assert ledger.where == ledger.store.url  # a SQLite URL has no password to hide


def test_the_last_entry_per_environment_and_kind(ledger: Ledger) -> None:
    ledger.append(LedgerKind.GATES, "a", passed=True)
    ledger.append(LedgerKind.PROMOTED, "a", "staging")
    ledger.append(LedgerKind.ROLLBACK, "a", "production")
    ledger.append(LedgerKind.PROMOTED, "a", "production")
    ledger.append(LedgerKind.GATES, "a", passed=False)
    rollback = ledger.last("a", "production", (LedgerKind.ROLLBACK,))
    latest = ledger.last("a", "production")
    spec_level = ledger.last("a", None)
    assert (rollback and rollback.seq, latest and latest.seq) == (3, 4)
    assert spec_level is not None
    assert (spec_level.seq, spec_level.details) == (5, {"passed": False})
    assert ledger.last("b", "production") is None


def test_an_edit_made_with_sql_is_caught(ledger: Ledger) -> None:
    ledger.append(LedgerKind.GATES, "credit-risk", passed=True)
    ledger.append(LedgerKind.PROMOTED, "credit-risk", "production")
    sql(ledger, "UPDATE ledger SET body = replace(body, 'true', 'false') WHERE seq = 1")
    assert ledger.verify() == ["seq 1: content does not match its hash (edited)"]


def test_a_tail_cut_off_after_a_checkpoint_is_caught(ledger: Ledger, tmp_path: Path) -> None:
    for model in ("1", "2", "3"):
        ledger.append(LedgerKind.PROMOTED, "credit-risk", "production", model=model)
    write_checkpoint(ledger, signing_key(tmp_path / "bentoml", environ={}), "apply credit-risk")
    sql(ledger, "DELETE FROM ledger WHERE seq >= 2")
    assert ledger.verify() == [
        "checkpoint of seq 3 (apply credit-risk): the chain ends at seq 1, before this signed "
        "checkpoint — entries 2..3 were removed (truncated)"
    ]


def test_a_garbage_row_is_named_when_read_and_reported_by_verify(ledger: Ledger) -> None:
    ledger.append(LedgerKind.GATES, "credit-risk", passed=True)
    head = ledger.store.ledger_head()
    assert head is not None
    sql(
        ledger,
        "INSERT INTO ledger (seq, ts, kind, spec, env, prev, hash, body) "
        "VALUES (2, 0, 'promoted', 'credit-risk', 'production', :prev, :hash, 'not json')",
        prev=head[1],
        hash=hashlib.sha256(b"not json").hexdigest(),
    )
    with pytest.raises(LedgerError, match=r"^ledger entry seq 2: not a ledger entry \(Expecting"):
        list(ledger.entries())
    with pytest.raises(LedgerError, match=r"^ledger entry seq 2: not a ledger entry"):
        ledger.last("credit-risk", "production")
    assert ledger.verify() == [
        "seq 2: malformed entry, not a ledger record (Expecting value: line 1 column 1 (char 0))"
    ]


@pytest.mark.parametrize(
    "engine", ["sqlite", pytest.param("postgresql", marks=pytest.mark.integration)]
)
def test_worker_processes_reading_stretches_report_what_one_pass_does(
    engine: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    url = f"sqlite:///{tmp_path / 'state.db'}"
    if engine == "postgresql":
        url = request.getfixturevalue("postgres_url")
    ledger = Ledger(open_store(url))
    for i in range(40):
        ledger.append(LedgerKind.STEP, f"model-{i % 3}", "production", i=i)
    write_checkpoint(ledger, signing_key(tmp_path / "bentoml", environ={}), "apply")
    intact = ledger.report(workers=1)
    assert (intact.intact, intact.count, [ledger.report(workers=n) for n in (2, 3, 4)]) == (
        True,
        40,
        [intact] * 3,
    )
    # damage just after the cuts 2, 3 and 4 workers make in 38 rows (19 | 12, 25 | 9, 19, 28),
    # a cut-off tail behind the checkpoint, and a row before the first
    sql(ledger, "UPDATE ledger SET body = body || ' ' WHERE seq IN (10, 27)")
    sql(ledger, "DELETE FROM ledger WHERE seq IN (13, 14, 20, 21, 31)")
    sql(ledger, "DELETE FROM ledger WHERE seq > 38")
    sql(
        ledger,
        "INSERT INTO ledger (seq, ts, kind, spec, env, prev, hash, body) "
        "VALUES (-1, 0, 'step', 'x', NULL, 'p', 'h', 'b')",
    )
    broken = ledger.report(workers=1)
    assert (len(broken.problems), broken.problems[0][:8]) == (14, "seq -1: ")
    assert [ledger.report(workers=n) for n in (2, 3, 4)] == [broken] * 3


def test_a_workspace_ledger_lives_in_its_state_store(tmp_path: Path) -> None:
    ws = Workspace.at(tmp_path)
    ledger_of(ws).append(LedgerKind.GATES, "credit-risk", passed=True)
    assert (tmp_path / ".shipyard" / "state.db").is_file()
    assert [e.seq for e in ledger_of(ws).entries()] == [1]
