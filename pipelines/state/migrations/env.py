"""Alembic's entry point: migrations run on the connection the store hands over (inside
its transaction, under its migration lock), never on a URL of their own."""

from __future__ import annotations

from alembic import context

connection = context.config.attributes["connection"]
context.configure(connection=connection, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
