"""The schema and its migrations agree: `HEAD` and `REVISIONS` follow the files in
migrations/versions, upgrading makes exactly the tables of `schema.metadata` on both engines,
and a store at any other revision is refused with what to do about it."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from pipelines.state import schema
from pipelines.state.store import LedgerRow, StateError, Store, forget_stores, open_store

VERSIONS = Path(schema.__file__).parent / "migrations" / "versions"


def migration_files() -> dict[str, str | None]:
    """revision -> down_revision, read from the assignments of each file in versions/."""
    found: dict[str, str | None] = {}
    for path in sorted(VERSIONS.glob("*.py")):
        values: dict[str, str | None] = {}
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant):
                for target in node.targets:
                    if isinstance(target, ast.Name) and target.id.endswith("revision"):
                        value = node.value.value
                        assert value is None or isinstance(value, str), f"{path.name}: {value!r}"
                        values[target.id] = value
        revision = values.get("revision")
        if revision is not None:
            assert revision not in found, f"{path.name}: revision {revision} used twice"
            found[revision] = values.get("down_revision")
    return found


def chain(files: dict[str, str | None]) -> list[str]:
    """The revisions from the first (no down_revision) to the newest, following the links."""
    children: dict[str | None, list[str]] = {}
    for revision, down in files.items():
        children.setdefault(down, []).append(revision)
    order, parent = [], None
    while parent in children:
        (child,) = children[parent]  # two children of one revision: a branch
        order.append(child)
        parent = child
    assert len(order) == len(files), f"unreachable revisions: {set(files) - set(order)}"
    return order


def test_head_and_revisions_follow_the_migration_files() -> None:
    files = migration_files()
    assert files, f"no migrations in {VERSIONS}"
    assert list(schema.REVISIONS) == chain(files)
    assert schema.REVISIONS[-1] == schema.HEAD


def tables(engine: sa.Engine) -> dict[str, list[str]]:
    inspector = sa.inspect(engine)
    return {
        name: sorted(column["name"] for column in inspector.get_columns(name))
        for name in inspector.get_table_names()
        if name != "alembic_version"
    }


def test_upgrading_makes_exactly_the_tables_of_the_schema(store_url: str) -> None:
    store = open_store(store_url)
    assert tables(store.engine) == {
        name: sorted(table.columns.keys()) for name, table in schema.metadata.tables.items()
    }
    with store.engine.connect() as conn:  # and nothing else differs: keys, indexes, types
        assert compare_metadata(MigrationContext.configure(conn), schema.metadata) == []


def add_rows(store: Store, count: int) -> list[LedgerRow]:
    def make(seq: int, prev: str) -> LedgerRow:
        return LedgerRow(seq, float(seq), "gates", "a", None, prev, f"{seq:064x}", f"{{{seq}}}")

    return [store.append_ledger(make) for _ in range(count)]


def test_an_older_store_is_refused_until_upgraded(store_url: str) -> None:
    old = Store(store_url)
    try:
        assert old.upgrade("0001") == (None, "0001")
        rows = add_rows(old, 3)
    finally:
        old.engine.dispose()
    with pytest.raises(
        StateError, match=rf"is at schema 0001; this Shipyard reads schema {schema.HEAD}$"
    ) as err:
        open_store(store_url)
    assert "shipyard state upgrade" in err.value.hint
    assert err.value.exit_code == 2

    upgrading = Store(store_url)
    try:
        assert upgrading.upgrade() == ("0001", schema.HEAD)
        assert upgrading.upgrade() == (schema.HEAD, schema.HEAD)  # again: nothing to do
    finally:
        upgrading.engine.dispose()
    store = open_store(store_url)
    assert store.revision() == schema.HEAD
    assert list(store.ledger_rows()) == rows


def test_a_store_written_by_a_newer_shipyard_is_refused(store_url: str) -> None:
    with open_store(store_url).transaction() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = '9999'"))
    forget_stores()  # as a new process finds it
    with pytest.raises(
        StateError, match="is at schema 9999, which this Shipyard does not know"
    ) as err:
        open_store(store_url)
    assert "a newer Shipyard wrote it" in err.value.message
    assert "upgrade Shipyard" in err.value.hint


def test_tables_without_a_schema_revision_are_refused(store_url: str) -> None:
    with open_store(store_url).transaction() as conn:
        conn.execute(sa.text("DROP TABLE alembic_version"))
    forget_stores()
    with pytest.raises(
        StateError, match=r"has Shipyard's tables but no schema revision \(alembic_version\)$"
    ) as err:
        open_store(store_url)
    assert "shipyard audit import" in err.value.hint
