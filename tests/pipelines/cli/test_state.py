"""`shipyard state upgrade|show`: a store at an older schema (0001) is refused by every other
command, with the way out, until `state upgrade` migrates it; `show` says where the store
is, its engine and schema, its rows per table, the rollouts in flight and the locks held."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from pipelines.audit.ledger import LedgerKind, ledger_of
from pipelines.cli import state
from pipelines.core.workspace import Workspace
from pipelines.state import schema
from pipelines.state.locks import hold
from pipelines.state.store import StateError, Store, forget_stores, open_store
from tests.fakes.cli import parse, shipyard


@pytest.fixture(autouse=True)
def _forget_stores() -> Iterator[None]:
    yield
    forget_stores()


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    return Workspace.at(tmp_path)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.integration)])
def any_ws(
    request: pytest.FixtureRequest, ws: Workspace, monkeypatch: pytest.MonkeyPatch
) -> Workspace:
    """The project `ws` with its store in SQLite (the default) or a fresh PostgreSQL database."""
    if request.param == "postgresql":
        monkeypatch.setenv("SHIPYARD_STATE_URL", request.getfixturevalue("postgres_url"))
    return ws


def test_upgrade_from_0001_to_the_newest(
    any_ws: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    ws = any_ws
    old = Store(ws.state_url)
    assert old.upgrade("0001") == (None, "0001")
    old.engine.dispose()
    with pytest.raises(
        StateError, match=r"is at schema 0001; this Shipyard reads schema 0002$"
    ) as refused:
        open_store(ws.state_url)
    assert "`shipyard state upgrade`" in refused.value.hint
    status = shipyard(capsys, "-C", str(ws.root), "ledger", "show")
    assert status.code == 2
    assert "hint: back the database up, then run `shipyard state upgrade`" in status.err

    ran = shipyard(capsys, "-C", str(ws.root), "state", "upgrade")
    assert (ran.code, ran.err) == (0, "")
    assert ran.out == f"state store {ws.state_url}: schema 0001 -> {schema.HEAD}\n"
    assert open_store(ws.state_url).revision() == schema.HEAD
    again = shipyard(capsys, "-C", str(ws.root), "state", "upgrade")
    assert again.out == f"state store {ws.state_url}: already at schema {schema.HEAD}\n"
    shown = shipyard(capsys, "-C", str(ws.root), "state", "show").out.splitlines()
    assert shown[1].startswith(f"engine:      {open_store(ws.state_url).dialect} ")


def test_upgrade_creates_an_empty_store(ws: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    ran = shipyard(capsys, "-C", str(ws.root), "state", "upgrade")
    assert ran.out == f"state store {ws.state_url}: schema (empty) -> {schema.HEAD}\n"


def test_upgrade_refuses_a_store_a_newer_shipyard_wrote(
    ws: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    store = open_store(ws.state_url)
    with store.transaction() as conn:
        conn.exec_driver_sql("UPDATE alembic_version SET version_num = '0099'")
    ran = shipyard(capsys, "-C", str(ws.root), "state", "upgrade")
    assert ran.code == 2
    assert ran.err.splitlines() == [
        f"error: state store {ws.state_url} is at schema 0099, which this Shipyard does not "
        f"know (it reads {schema.HEAD}): a newer Shipyard wrote it",
        "  hint: upgrade Shipyard (the version the CI jobs sharing this store run)",
    ]


def test_show_prints_the_revision_counts_rollouts_and_locks(
    ws: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    ledger = ledger_of(ws)
    ledger.append(LedgerKind.GATES, "credit", None, passed=True)
    ledger.append(LedgerKind.STEP, "credit", "production", weights={"canary": 10})
    ledger.store.put_rollout("credit", "production", "ci-1, pid 10", {"step": 1})
    with hold(ledger.store, "credit/production", "apply credit production", 5, print):
        ran = shipyard(capsys, "-C", str(ws.root), "state", "show")
    assert (ran.code, ran.err) == (0, "")
    lines = ran.out.splitlines()
    assert lines[0] == f"state store: {ws.state_url}"
    assert re.fullmatch(r"engine:      sqlite 3\.\d+\.\d+", lines[1])
    assert lines[2] == f"schema:      {schema.HEAD} (this Shipyard reads {schema.HEAD})"
    rows = dict(line.split() for line in lines[4 : 4 + len(schema.metadata.tables)])
    assert rows == {name: "0" for name in schema.metadata.tables} | {
        "ledger": "2",
        "rollouts": "1",
        "locks": "1",
    }
    rest = lines[4 + len(schema.metadata.tables) :]
    assert rest[0] == "in-flight rollouts: 1"
    assert re.fullmatch(
        r"  credit/production: ci-1, pid 10, step 1, started \d+s ago, updated \d+s ago", rest[1]
    )
    assert rest[2] == "held locks: 1"
    assert re.fullmatch(
        r"  credit/production: apply credit production on \S+, pid \d+, since \d+s", rest[3]
    )


def test_show_an_older_store_says_to_upgrade(
    ws: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    Store(ws.state_url).upgrade("0001")
    lines = shipyard(capsys, "-C", str(ws.root), "state", "show").out.splitlines()
    assert lines[2] == (
        f"schema:      0001 (this Shipyard reads {schema.HEAD}: run `shipyard state upgrade`)"
    )
    assert [line.split()[0] for line in lines[4:7]] == ["ledger", "ledger_checkpoints", "approvals"]
    assert lines[7:] == ["in-flight rollouts: none", "held locks: none"]


def test_arguments() -> None:
    assert parse(state, "upgrade").action == "upgrade"
    with pytest.raises(SystemExit, match=r"^2$"):
        parse(state, "downgrade")
