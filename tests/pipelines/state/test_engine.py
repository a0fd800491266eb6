"""The SQLite connection set-up: WAL mode switched on even when another process opening the
same new store at that moment makes the switch fail at once with "database is locked"."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from pipelines.state.engine import use_wal


class _Cursor:
    """A cursor whose journal-mode switch fails `busy` times before it takes."""

    def __init__(self, busy: int, error: str = "database is locked", mode: str = "delete"):
        self.busy, self.error, self.mode, self.tries = busy, error, mode, 0

    def execute(self, sql: str) -> Any:
        if sql == "PRAGMA journal_mode":
            return self
        self.tries += 1
        if self.tries <= self.busy:
            raise sqlite3.OperationalError(self.error)
        self.mode = "wal"
        return self

    def fetchone(self) -> tuple[str]:
        return (self.mode,)


def test_a_locked_switch_is_retried_until_it_takes() -> None:
    cursor = _Cursor(busy=3)
    use_wal(cursor, patience=5.0)
    assert cursor.mode == "wal"
    assert cursor.tries == 4


def test_a_store_already_in_wal_is_not_switched_again() -> None:
    cursor = _Cursor(busy=100, mode="wal")
    use_wal(cursor, patience=0.1)
    assert cursor.tries == 0


def test_it_gives_up_after_its_patience() -> None:
    cursor = _Cursor(busy=10_000)
    with pytest.raises(sqlite3.OperationalError, match="locked"):
        use_wal(cursor, patience=0.2)
    assert cursor.tries > 1


def test_other_errors_are_not_retried() -> None:
    cursor = _Cursor(busy=1, error="disk I/O error")
    with pytest.raises(sqlite3.OperationalError, match="disk"):
        use_wal(cursor, patience=5.0)
    assert cursor.tries == 1


def test_a_real_new_database_ends_in_wal(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / "state.db", isolation_level=None)
    use_wal(conn.cursor(), patience=1.0)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
