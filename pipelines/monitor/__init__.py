"""`shipyard monitor`: live traffic against the spec's monitoring section, after release.

Modules: `logs` (reading a window of prediction logs block by block), `stream` (binned counts
per time bin, reservoir samples), `baseline` (reference profile, evaluation outputs, offline
metrics), `feedback` (labels joined by row hash), `metrics` (/metrics snapshots, window
differences), `checks` (pure verdicts), `scan` (one pass over the logs), `actions` (alert,
propose retrain, rollback; the ledger), `report`/`html`/`plots` (reports), `engine` (the run).
"""
