"""Releases and their history, in-flight rollouts, monitor checkpoints, locks.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    op.create_table(
        "releases",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("spec", sa.String(200), nullable=False),
        sa.Column("env", sa.String(200), nullable=False),
        sa.Column("ts", sa.Float, nullable=False),
        sa.Column("model", sa.String(400), nullable=False),
        sa.Column("record", sa.JSON, nullable=False),
    )
    op.create_index("releases_spec_env", "releases", ["spec", "env", "id"])
    op.create_table(
        "rollouts",
        sa.Column("spec", sa.String(200), primary_key=True),
        sa.Column("env", sa.String(200), primary_key=True),
        sa.Column("owner", sa.String(400), nullable=False),
        sa.Column("started", sa.Float, nullable=False),
        sa.Column("updated", sa.Float, nullable=False),
        sa.Column("record", sa.JSON, nullable=False),
    )
    op.create_table(
        "monitor_snapshots",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("spec", sa.String(200), nullable=False),
        sa.Column("env", sa.String(200), nullable=False),
        sa.Column("ts", sa.Float, nullable=False),
        sa.Column("record", sa.JSON, nullable=False),
    )
    op.create_index("monitor_snapshots_spec_env", "monitor_snapshots", ["spec", "env", "ts"])
    op.create_table(
        "monitor_state",
        sa.Column("spec", sa.String(200), primary_key=True),
        sa.Column("env", sa.String(200), primary_key=True),
        sa.Column("key", sa.String(100), primary_key=True),
        sa.Column("updated", sa.Float, nullable=False),
        sa.Column("record", sa.JSON, nullable=False),
    )
    op.create_table(
        "locks",
        sa.Column("name", sa.String(400), primary_key=True),
        sa.Column("host", sa.String(200), nullable=False),
        sa.Column("pid", sa.Integer, nullable=False),
        sa.Column("started", sa.String(40), nullable=False),
        sa.Column("since", sa.Float, nullable=False),
        sa.Column("heartbeat", sa.Float, nullable=False),
        sa.Column("what", sa.String(400), nullable=False),
    )
