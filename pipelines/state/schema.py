"""The tables of the state store (SQLAlchemy Core). The migrations under `migrations/`
create exactly these; `HEAD` names the newest migration this Shipyard reads and writes."""

from __future__ import annotations

import sqlalchemy as sa

HEAD = "0002"  # keep equal to the newest file in migrations/versions (a test checks)
REVISIONS = ("0001", "0002")  # oldest first

metadata = sa.MetaData()

# The hash chain: `body` is the exact canonical JSON the entry's hash covers (seq, ts, kind,
# spec, env, details, prev); the other columns copy it for queries and are checked against it.
ledger = sa.Table(
    "ledger",
    metadata,
    sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("ts", sa.Float, nullable=False),
    sa.Column("kind", sa.String(40), nullable=False),
    sa.Column("spec", sa.String(200), nullable=False),
    sa.Column("env", sa.String(200)),
    sa.Column("prev", sa.String(64), nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
    sa.Column("body", sa.Text, nullable=False),
    sa.Index("ledger_spec_env", "spec", "env", "seq"),
)

# A signed (sequence number, head hash) written at the end of every apply, rollback and
# monitor run: a chain that ends before the newest checkpoint lost its tail.
checkpoints = sa.Table(
    "ledger_checkpoints",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("seq", sa.BigInteger, nullable=False),
    sa.Column("head", sa.String(64), nullable=False),
    sa.Column("ts", sa.Float, nullable=False),
    sa.Column("reason", sa.String(200), nullable=False),
    sa.Column("key", sa.String(64), nullable=False),  # the signing key's fingerprint
    sa.Column("signature", sa.Text, nullable=False),  # base64 ECDSA over the statement
)

approvals = sa.Table(
    "approvals",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("spec", sa.String(200), nullable=False, index=True),
    sa.Column("record", sa.JSON, nullable=False),  # an Approval's fields
)

# --- 0002 -------------------------------------------------------------------------------------

releases = sa.Table(
    "releases",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("spec", sa.String(200), nullable=False),
    sa.Column("env", sa.String(200), nullable=False),
    sa.Column("ts", sa.Float, nullable=False),
    sa.Column("model", sa.String(400), nullable=False),
    sa.Column("record", sa.JSON, nullable=False),  # bento, image, version, how it got there
    sa.Index("releases_spec_env", "spec", "env", "id"),
)

rollouts = sa.Table(
    "rollouts",
    metadata,
    sa.Column("spec", sa.String(200), primary_key=True),
    sa.Column("env", sa.String(200), primary_key=True),
    sa.Column("owner", sa.String(400), nullable=False),  # host, pid of the apply driving it
    sa.Column("started", sa.Float, nullable=False),
    sa.Column("updated", sa.Float, nullable=False),
    sa.Column("record", sa.JSON, nullable=False),  # release, step, weights, analysis history
)

monitor_snapshots = sa.Table(
    "monitor_snapshots",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("spec", sa.String(200), nullable=False),
    sa.Column("env", sa.String(200), nullable=False),
    sa.Column("ts", sa.Float, nullable=False),
    sa.Column("record", sa.JSON, nullable=False),
    sa.Index("monitor_snapshots_spec_env", "spec", "env", "ts"),
)

monitor_state = sa.Table(  # baselines and the last window, one value per key
    "monitor_state",
    metadata,
    sa.Column("spec", sa.String(200), primary_key=True),
    sa.Column("env", sa.String(200), primary_key=True),
    sa.Column("key", sa.String(100), primary_key=True),
    sa.Column("updated", sa.Float, nullable=False),
    sa.Column("record", sa.JSON, nullable=False),
)

locks = sa.Table(
    "locks",
    metadata,
    sa.Column("name", sa.String(400), primary_key=True),
    sa.Column("host", sa.String(200), nullable=False),
    sa.Column("pid", sa.Integer, nullable=False),
    sa.Column("started", sa.String(40), nullable=False),  # the holder process's start time
    sa.Column("since", sa.Float, nullable=False),
    sa.Column("heartbeat", sa.Float, nullable=False),
    sa.Column("what", sa.String(400), nullable=False),  # e.g. "apply credit-risk production"
)
