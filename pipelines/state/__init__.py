"""Shipyard's durable state: one store (SQLite by default, PostgreSQL for teams, chosen by
`SHIPYARD_STATE_URL`) holding the ledger, approval records, releases, in-flight rollouts,
monitor checkpoints and locks, so a CI runner that starts empty loses nothing."""
