"""Alembic migrations of the state store; applied by `shipyard state upgrade` (and on an
empty store automatically). New schema: add a file to versions/ and bump `schema.HEAD`."""
