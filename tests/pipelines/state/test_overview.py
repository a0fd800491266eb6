"""`shipyard state show|upgrade` as text: where the store is, its schema, rows per table,
in-flight rollouts and held locks (a dead holder marked); an upgrade says what it did."""

from __future__ import annotations

import socket
import time
from pathlib import Path

from pipelines.state import schema
from pipelines.state.overview import show_lines, upgrade_lines
from pipelines.state.store import Store, open_store


def test_show_names_the_schema_rows_rollouts_and_a_dead_holder(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'state.db'}"
    store = open_store(url)
    store.add_approval("credit", {"who": "@risk"})
    store.put_rollout("credit", "production", "runner-7 pid 4242", {"step": 2})
    with store.transaction() as conn:
        now = time.time()
        conn.execute(
            schema.locks.insert().values(
                name="credit/production",
                host=socket.gethostname(),
                pid=2**22 + 7,
                started="1",
                since=now,
                heartbeat=now,
                what="apply",
            )
        )
    lines = show_lines(url)
    assert lines[0] == f"state store: {url}"
    assert lines[2] == f"schema:      {schema.HEAD} (this Shipyard reads {schema.HEAD})"
    assert "  approvals                     1" in lines
    assert any(line.startswith("  credit/production: runner-7 pid 4242, step 2") for line in lines)
    assert lines[-1].endswith("(its holder is gone: the next run takes it over)")


def test_upgrade_says_from_which_schema(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'state.db'}"
    Store(url).upgrade("0001")
    assert upgrade_lines(url) == [f"state store {url}: schema 0001 -> {schema.HEAD}"]
    assert upgrade_lines(url) == [f"state store {url}: already at schema {schema.HEAD}"]
