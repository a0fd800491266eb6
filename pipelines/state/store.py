"""The state store: one SQLAlchemy engine over SQLite (the embedded default, WAL mode) or
PostgreSQL (teams), at the schema this Shipyard knows.

`open_store(url)` gives the store of a URL (one per process and URL). An empty database is
created at the newest schema on first use; a database at an older schema is refused until
`shipyard state upgrade` migrates it, and one written by a newer Shipyard is refused — it
is never read with the wrong idea of its tables.

Every write is one transaction. On SQLite transactions begin IMMEDIATE (one writer at a
time, readers never blocked by WAL); on PostgreSQL the ledger append takes a transaction
advisory lock, so two machines appending at once still make one chain.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from pipelines.core.errors import ShipyardError, UsageError
from pipelines.state import schema
from pipelines.state.engine import READ_ONLY, URL_ENV, engine_for, shown

if TYPE_CHECKING:
    import sqlalchemy as sa

LEDGER_LOCK = 0x5348_4950_4C45_4447  # pg advisory lock key of ledger appends ("SHIPLEDG")
MIGRATION_LOCK = 0x5348_4950_4D49_4752  # ... of schema migrations ("SHIPMIGR")


class StateError(ShipyardError):
    """The state store cannot be reached or is not at a schema this Shipyard reads."""

    exit_code = 2


class LedgerRow(NamedTuple):
    """One ledger row as stored: `body` is the exact JSON its `hash` covers. A named tuple:
    `audit verify` makes a million of them."""

    seq: int
    ts: float
    kind: str
    spec: str
    env: str | None
    prev: str
    hash: str
    body: str


_STORES: dict[str, Store] = {}
_STORES_LOCK = threading.Lock()


def open_store(url: str) -> Store:
    """The store at `url`, connected and at the current schema (created when empty)."""
    with _STORES_LOCK:
        store = _STORES.get(url)
        if store is None:
            store = Store(url)
            store.ensure_schema()
            _STORES[url] = store
        return store


def forget_stores() -> None:
    """Close every engine this process opened (tests, and before a fork)."""
    with _STORES_LOCK:
        for store in _STORES.values():
            store.engine.dispose()
        _STORES.clear()


class Store:
    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = engine_for(url)
        self.dialect = self.engine.dialect.name  # "sqlite" | "postgresql"

    # --- schema ---------------------------------------------------------------------------

    def revision(self) -> str | None:
        """The schema revision the database is at; None when it has no Shipyard tables."""
        import sqlalchemy as sa

        with self._reach():
            names = set(sa.inspect(self.engine).get_table_names())
            if "alembic_version" not in names:
                if names & set(schema.metadata.tables):
                    raise StateError(
                        f"state store {shown(self.url)} has Shipyard's tables but no schema "
                        "revision (alembic_version)",
                        hint="restore it from a backup, or point SHIPYARD_STATE_URL at an "
                        "empty database and `shipyard audit import` the ledger",
                    )
                return None
            with self._read() as conn:
                return conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()

    def ensure_schema(self) -> None:
        """Create an empty store at HEAD; refuse one at another revision with how to fix."""
        found = self.revision()
        if found is None:
            self.upgrade()
        elif found in schema.REVISIONS and found != schema.HEAD:
            raise StateError(
                f"state store {shown(self.url)} is at schema {found}; this Shipyard reads "
                f"schema {schema.HEAD}",
                hint="back the database up, then run `shipyard state upgrade`",
            )
        elif found not in schema.REVISIONS:
            raise StateError(
                f"state store {shown(self.url)} is at schema {found}, which this Shipyard "
                f"does not know (it reads {schema.HEAD}): a newer Shipyard wrote it",
                hint="upgrade Shipyard (the version the CI jobs sharing this store run)",
            )

    def upgrade(self, to: str = schema.HEAD) -> tuple[str | None, str]:
        """Apply the migrations up to `to`, under a lock; (revision before, after). A store
        at a revision this Shipyard does not know is refused, not touched."""
        found = self.revision()
        if found is not None and found not in schema.REVISIONS:
            raise StateError(
                f"state store {shown(self.url)} is at schema {found}, which this Shipyard "
                f"does not know (it reads {schema.HEAD}): a newer Shipyard wrote it",
                hint="upgrade Shipyard (the version the CI jobs sharing this store run)",
            )
        from alembic import command
        from alembic.config import Config

        config = Config()
        config.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
        with self._reach(), self.engine.begin() as conn:
            if self.dialect == "postgresql":
                conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK})")
            before = _current(conn)
            config.attributes["connection"] = conn
            command.upgrade(config, to)
            return before, _current(conn) or to

    # --- transactions ---------------------------------------------------------------------

    @contextmanager
    def transaction(self) -> Iterator[sa.Connection]:
        with self._reach(), self.engine.begin() as conn:
            yield conn

    @contextmanager
    def _read(self) -> Iterator[sa.Connection]:
        with self._reach(), self.engine.connect().execution_options(**{READ_ONLY: True}) as conn:
            yield conn

    @contextmanager
    def _reach(self) -> Iterator[None]:
        import sqlalchemy.exc

        try:
            yield
        except sqlalchemy.exc.OperationalError as exc:
            raise StateError(
                f"state store {shown(self.url)}: {_first_line(exc.orig or exc)}",
                hint=f"check {URL_ENV} (host, port, database, credentials) and that the "
                "server is up",
            ) from None

    # --- ledger -------------------------------------------------------------------------

    def append_ledger(self, make: Callable[[int, str], LedgerRow]) -> LedgerRow:
        """Append the row `make(next_seq, head_hash)` returns, in one transaction that no
        other append can interleave with."""
        import sqlalchemy as sa

        t = schema.ledger
        with self.transaction() as conn:
            if self.dialect == "postgresql":
                conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({LEDGER_LOCK})")
            last = conn.execute(
                sa.select(t.c.seq, t.c.hash).order_by(t.c.seq.desc()).limit(1)
            ).first()
            row = make(last.seq + 1 if last else 1, last.hash if last else "0" * 64)
            conn.execute(sa.insert(t).values(**row._asdict()))
        return row

    def import_ledger(self, rows: Iterator[LedgerRow], batch: int = 5000) -> int:
        """Bulk-insert rows into an empty ledger (the rows are checked by the caller)."""
        import sqlalchemy as sa

        t, count = schema.ledger, 0
        with self.transaction() as conn:
            if conn.execute(sa.select(sa.func.count()).select_from(t)).scalar():
                raise UsageError(
                    f"the ledger of {shown(self.url)} is not empty: importing would mix two chains",
                    hint=f"import into an empty store (a new database, or a new {URL_ENV})",
                )
            chunk: list[dict[str, Any]] = []
            for row in rows:
                chunk.append(row._asdict())
                if len(chunk) >= batch:
                    conn.execute(sa.insert(t), chunk)
                    count, chunk = count + len(chunk), []
            if chunk:
                conn.execute(sa.insert(t), chunk)
                count += len(chunk)
        return count

    def ledger_rows(
        self,
        spec: str | None = None,
        env: str | None = None,
        kinds: tuple[str, ...] = (),
        newest_first: bool = False,
        limit: int | None = None,
    ) -> Iterator[LedgerRow]:
        """Rows in sequence order (streamed), optionally of one spec (and environment)."""
        import sqlalchemy as sa

        t = schema.ledger
        query = sa.select(
            t.c.seq, t.c.ts, t.c.kind, t.c.spec, t.c.env, t.c.prev, t.c.hash, t.c.body
        )
        if spec is not None:
            query = query.where(t.c.spec == spec)
        if env is not None:
            query = query.where(t.c.env == env)
        if kinds:
            query = query.where(t.c.kind.in_(kinds))
        query = query.order_by(t.c.seq.desc() if newest_first else t.c.seq)
        if limit is not None:
            query = query.limit(limit)
        with self._read() as conn:
            result = conn.execution_options(yield_per=20_000).execute(query)
            for found in result:
                yield LedgerRow(*found)

    def ledger_scan(
        self, after: int | None = None, upto: int | None = None, batch: int = 20_000
    ) -> Iterator[tuple[Any, ...]]:
        """The rows with `after` < seq <= `upto` (all by default) in sequence order, as the
        driver returns them — tuples of LedgerRow's columns in its order, fetched in batches
        (server-side on PostgreSQL): what `audit verify` reads, at the driver's speed."""
        where = [] if after is None else [f"seq > {int(after)}"]
        where += [] if upto is None else [f"seq <= {int(upto)}"]
        bounds = f"WHERE {' AND '.join(where)}" if where else ""
        query = (
            f"SELECT seq, ts, kind, spec, env, prev, hash, body FROM ledger {bounds} ORDER BY seq"
        )
        with self._read() as conn:
            raw = conn.connection.dbapi_connection
            assert raw is not None
            # PostgreSQL: a named (server-side) cursor, so a million rows are not held at once
            named = {"name": "shipyard_ledger_scan"} if self.dialect == "postgresql" else {}
            cursor = raw.cursor(**named)
            try:
                cursor.execute(query)
                while rows := cursor.fetchmany(batch):
                    yield from rows
            finally:
                cursor.close()
                if self.dialect == "postgresql":
                    raw.rollback()  # end the read transaction the named cursor needed

    def ledger_heads(self) -> dict[tuple[str, str | None], LedgerRow]:
        """The newest row of every (spec, environment), in one query (`status`)."""
        import sqlalchemy as sa

        t = schema.ledger
        newest = sa.select(sa.func.max(t.c.seq)).group_by(t.c.spec, t.c.env)
        query = sa.select(
            t.c.seq, t.c.ts, t.c.kind, t.c.spec, t.c.env, t.c.prev, t.c.hash, t.c.body
        ).where(t.c.seq.in_(newest))
        with self._read() as conn:
            return {(r.spec, r.env): LedgerRow(*r) for r in conn.execute(query)}

    def ledger_head(self, upto: int | None = None) -> tuple[int, str] | None:
        """(seq, hash) of the newest row, or of the newest at or before seq `upto`."""
        import sqlalchemy as sa

        t = schema.ledger
        query = sa.select(t.c.seq, t.c.hash).order_by(t.c.seq.desc()).limit(1)
        if upto is not None:
            query = query.where(t.c.seq <= upto)
        with self._read() as conn:
            found = conn.execute(query).first()
        return None if found is None else (found.seq, found.hash)

    def add_checkpoint(self, record: dict[str, Any]) -> None:
        import sqlalchemy as sa

        with self.transaction() as conn:
            conn.execute(sa.insert(schema.checkpoints).values(**record))

    def checkpoints(self) -> list[dict[str, Any]]:
        import sqlalchemy as sa

        t = schema.checkpoints
        with self._read() as conn:
            return [dict(r._mapping) for r in conn.execute(sa.select(t).order_by(t.c.id))]

    # --- records: approvals, releases, rollouts, monitor -----------------------------------

    def add_approval(self, spec: str, record: dict[str, Any]) -> None:
        self._insert(schema.approvals, spec=spec, record=record)

    def approvals(self, spec: str) -> list[dict[str, Any]]:
        t = schema.approvals
        return [r["record"] for r in self._select(t, t.c.spec == spec, order=t.c.id)]

    def add_release(self, spec: str, env: str, model: str, record: dict[str, Any]) -> None:
        self._insert(
            schema.releases, spec=spec, env=env, ts=time.time(), model=model, record=record
        )

    def releases(self, spec: str, env: str) -> list[dict[str, Any]]:
        """Every release of (spec, env), oldest first: {ts, model, **record}."""
        t = schema.releases
        rows = self._select(t, (t.c.spec == spec) & (t.c.env == env), order=t.c.id)
        return [{"ts": r["ts"], "model": r["model"], **r["record"]} for r in rows]

    def put_rollout(self, spec: str, env: str, owner: str, record: dict[str, Any]) -> None:
        """Create or update the in-flight rollout of (spec, env); `started` is kept."""
        now = time.time()
        values = dict(spec=spec, env=env, owner=owner, started=now, updated=now, record=record)
        update = dict(owner=owner, updated=now, record=record)
        with self.transaction() as conn:
            conn.execute(self._upsert(schema.rollouts, ("spec", "env"), values, update))

    def rollout(self, spec: str, env: str) -> dict[str, Any] | None:
        """The in-flight rollout of (spec, env): {owner, started, updated, **record}."""
        t = schema.rollouts
        rows = self._select(t, (t.c.spec == spec) & (t.c.env == env))
        return _rollout(rows[0]) if rows else None

    def rollouts(self) -> list[dict[str, Any]]:
        t = schema.rollouts
        return [{"spec": r["spec"], "env": r["env"], **_rollout(r)} for r in self._select(t)]

    def clear_rollout(self, spec: str, env: str) -> None:
        import sqlalchemy as sa

        t = schema.rollouts
        with self.transaction() as conn:
            conn.execute(sa.delete(t).where((t.c.spec == spec) & (t.c.env == env)))

    def add_snapshot(
        self, spec: str, env: str, ts: float, record: dict[str, Any], keep: int
    ) -> None:
        """Append a monitor counter snapshot; keep the newest `keep` of (spec, env)."""
        import sqlalchemy as sa

        t = schema.monitor_snapshots
        key = (t.c.spec == spec) & (t.c.env == env)
        with self.transaction() as conn:
            conn.execute(sa.insert(t).values(spec=spec, env=env, ts=ts, record=record))
            cut = conn.execute(
                sa.select(t.c.id).where(key).order_by(t.c.id.desc()).offset(keep).limit(1)
            ).scalar()
            if cut is not None:
                conn.execute(sa.delete(t).where(key & (t.c.id <= cut)))

    def snapshots(self, spec: str, env: str) -> list[dict[str, Any]]:
        t = schema.monitor_snapshots
        rows = self._select(t, (t.c.spec == spec) & (t.c.env == env), order=t.c.id)
        return [r["record"] for r in rows]

    def put_value(self, spec: str, env: str, key: str, record: dict[str, Any]) -> None:
        """Set a monitor checkpoint value (a baseline, the last window)."""
        now = time.time()
        values = dict(spec=spec, env=env, key=key, updated=now, record=record)
        update = dict(updated=now, record=record)
        with self.transaction() as conn:
            conn.execute(self._upsert(schema.monitor_state, ("spec", "env", "key"), values, update))

    def value(self, spec: str, env: str, key: str) -> dict[str, Any] | None:
        t = schema.monitor_state
        rows = self._select(t, (t.c.spec == spec) & (t.c.env == env) & (t.c.key == key))
        return dict(rows[0]["record"]) if rows else None

    # --- helpers ----------------------------------------------------------------------------

    def _upsert(
        self,
        table: sa.Table,
        keys: tuple[str, ...],
        values: dict[str, Any],
        update: dict[str, Any],
    ) -> Any:
        """One INSERT ... ON CONFLICT DO UPDATE: two writers of one key never both insert."""
        from sqlalchemy.dialects import postgresql, sqlite

        if self.dialect == "postgresql":
            return (
                postgresql.insert(table)
                .values(**values)
                .on_conflict_do_update(index_elements=list(keys), set_=update)
            )
        return (
            sqlite.insert(table)
            .values(**values)
            .on_conflict_do_update(index_elements=list(keys), set_=update)
        )

    def _insert(self, table: sa.Table, **values: Any) -> None:
        import sqlalchemy as sa

        with self.transaction() as conn:
            conn.execute(sa.insert(table).values(**values))

    def _select(
        self, table: sa.Table, where: Any = None, order: Any = None
    ) -> list[dict[str, Any]]:
        import sqlalchemy as sa

        query = sa.select(table)
        if where is not None:
            query = query.where(where)
        if order is not None:
            query = query.order_by(order)
        with self._read() as conn:
            return [dict(r._mapping) for r in conn.execute(query)]


def _rollout(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "owner": row["owner"],
        "started": row["started"],
        "updated": row["updated"],
        **row["record"],
    }


def _current(conn: sa.Connection) -> str | None:
    import sqlalchemy as sa

    if "alembic_version" not in sa.inspect(conn).get_table_names():
        return None
    return conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]
