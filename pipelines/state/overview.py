"""What `shipyard state upgrade|show` say about a state store: the migration it ran, or
where the store is, its engine and schema, rows per table, in-flight rollouts, held locks."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

from pipelines.state import schema
from pipelines.state.engine import READ_ONLY, shown
from pipelines.state.store import Store


def upgrade_lines(url: str) -> list[str]:
    """Migrate the store at `url` to HEAD (`shipyard state upgrade`); what happened. Not
    `open_store`: that refuses a store at an older schema, which is what this is for."""
    with _opened(url) as store:
        return _upgrade(store)


def show_lines(url: str) -> list[str]:
    """Where the store is, its engine and schema, rows per table, rollouts, locks."""
    with _opened(url) as store:
        return _show(store)


@contextmanager
def _opened(url: str) -> Iterator[Store]:
    store = Store(url)
    try:
        yield store
    finally:
        store.engine.dispose()


def _upgrade(store: Store) -> list[str]:
    before, after = store.upgrade()
    if before == after:
        return [f"state store {shown(store.url)}: already at schema {after}"]
    return [f"state store {shown(store.url)}: schema {before or '(empty)'} -> {after}"]


def _show(store: Store) -> list[str]:
    import sqlalchemy as sa

    from pipelines.state.locks import Holder, gone

    revision, now = store.revision(), time.time()
    with store.engine.connect().execution_options(**{READ_ONLY: True}) as conn:
        present = set(sa.inspect(conn).get_table_names())
        tables = [t for t in schema.metadata.tables.values() if t.name in present]
        counts = {
            t.name: conn.execute(sa.select(sa.func.count()).select_from(t)).scalar() for t in tables
        }
        locks = schema.locks
        rows = (
            conn.execute(sa.select(locks).order_by(locks.c.name)) if locks.name in present else ()
        )
        held = [(r.name, Holder.of(r._mapping)) for r in rows]
    version = ".".join(map(str, store.engine.dialect.server_version_info or ()))
    upgrade = "" if revision == schema.HEAD else ": run `shipyard state upgrade`"
    lines = [
        f"state store: {shown(store.url)}",
        f"engine:      {store.dialect} {version}".rstrip(),
        f"schema:      {revision or '(none)'} (this Shipyard reads {schema.HEAD}{upgrade})",
        "rows:",
        *(f"  {name:<20} {count:>10}" for name, count in counts.items()),
    ]
    rollouts = store.rollouts() if schema.rollouts.name in present else []
    lines.append(f"in-flight rollouts: {len(rollouts) or 'none'}")
    for r in rollouts:
        step = f", step {r['step']}" if "step" in r else ""
        lines.append(
            f"  {r['spec']}/{r['env']}: {r['owner']}{step}, started {now - r['started']:.0f}s "
            f"ago, updated {now - r['updated']:.0f}s ago"
        )
    lines.append(f"held locks: {len(held) or 'none'}")
    for name, holder in held:
        dead = " (its holder is gone: the next run takes it over)" if gone(holder, now) else ""
        lines.append(f"  {name}: {holder.describe(now)}{dead}")
    return lines
