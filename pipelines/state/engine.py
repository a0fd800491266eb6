"""How the state store reaches its database: the URL (`SHIPYARD_STATE_URL`), shown without
its password; the engine, SQLite (WAL, writers BEGIN IMMEDIATE, readers a deferred snapshot)
or PostgreSQL through psycopg 3; and whether a CI job's store dies with its runner."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipelines.core.errors import UsageError

if TYPE_CHECKING:
    import sqlalchemy as sa

URL_ENV = "SHIPYARD_STATE_URL"
READ_ONLY = "shipyard_read_only"  # execution option: a SQLite read begins DEFERRED
_SQLITE_PREFIX = "sqlite:///"
BUSY_MS = 60_000  # how long a SQLite statement waits for another writer


def sqlite_path(url: str) -> Path | None:
    """The file of a SQLite URL (None for other engines)."""
    if not url.startswith(_SQLITE_PREFIX):
        return None
    return Path(url[len(_SQLITE_PREFIX) :].split("?", 1)[0])


def shown(url: str) -> str:
    """The URL with any password hidden, for messages and the ledger."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # a URL SQLAlchemy cannot parse is not shown
        return "(unparseable URL)"


def ephemeral_warning(url: str, root: Path, environ: Mapping[str, str]) -> str | None:
    """On a CI runner, a state store inside the checkout is lost when the job ends (the
    ledger, approvals, release history and in-flight rollouts with it): what to say."""
    if environ.get("CI", "").lower() not in ("true", "1") and not environ.get("GITHUB_ACTIONS"):
        return None
    path = sqlite_path(url)
    if path is None:
        return None
    resolved, checkout = path.resolve(), root.resolve()
    if resolved != checkout and checkout not in resolved.parents:
        return None
    return (
        f"the state store is {path}, inside this CI job's checkout: the ledger, approvals, "
        "release history and rollout records written now are lost when the job ends. Set "
        f"{URL_ENV} (a secret) to the team's PostgreSQL database (docs/gitops.md, Team state)"
    )


def engine_for(url: str) -> sa.Engine:
    """The SQLAlchemy engine of a state URL; a clear error for one that is not."""
    import sqlalchemy as sa
    import sqlalchemy.exc

    try:
        parsed = sa.engine.make_url(url)
    except sqlalchemy.exc.ArgumentError:
        raise UsageError(
            f"{URL_ENV}={url!r} is not a database URL",
            hint="use sqlite:///PATH (the default: sqlite:///.shipyard/state.db) or "
            "postgresql+psycopg://USER:PASSWORD@HOST:5432/DB",
        ) from None
    backend = parsed.get_backend_name()
    if backend == "postgresql":
        if parsed.drivername == "postgresql":  # the driver we ship, not psycopg2
            parsed = parsed.set(drivername="postgresql+psycopg")
        return sa.create_engine(parsed, pool_pre_ping=True, json_serializer=_json)
    if backend != "sqlite":
        raise UsageError(
            f"{URL_ENV}: {backend} is not a supported state store",
            hint="use SQLite (one machine) or PostgreSQL 13+ (a team)",
        )
    path = sqlite_path(url)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
    engine = sa.create_engine(parsed, json_serializer=_json)
    sa.event.listen(engine, "connect", _sqlite_connect)
    sa.event.listen(engine, "begin", _sqlite_begin)
    return engine


def _json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def _sqlite_connect(dbapi_conn: Any, _record: Any) -> None:
    dbapi_conn.isolation_level = None  # transactions are begun by _sqlite_begin
    cursor = dbapi_conn.cursor()
    cursor.execute(f"PRAGMA busy_timeout = {BUSY_MS}")
    use_wal(cursor, BUSY_MS / 1000)
    cursor.execute("PRAGMA synchronous = NORMAL")
    cursor.close()


def use_wal(cursor: Any, patience: float) -> None:
    """Put the database in WAL mode (kept in the file once set). The switch is not always
    covered by the busy timeout: processes opening a new store at the same moment (two
    agents started together) can get "database is locked" at once, so it is retried."""
    import sqlite3

    deadline, pause = time.monotonic() + patience, 0.005
    while True:
        try:
            if str(cursor.execute("PRAGMA journal_mode").fetchone()[0]).lower() != "wal":
                cursor.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            busy = "locked" in str(exc) or "busy" in str(exc)
            if not busy or time.monotonic() + pause > deadline:
                raise
        time.sleep(pause)
        pause = min(pause * 2, 0.25)


def _sqlite_begin(conn: sa.Connection) -> None:
    # Writers take the write lock up front (no upgrade deadlock); readers read a snapshot.
    reading = conn.get_execution_options().get(READ_ONLY, False)
    conn.exec_driver_sql("BEGIN" if reading else "BEGIN IMMEDIATE")
