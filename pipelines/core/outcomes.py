"""How a spec or an environment ends an apply: the words the CLI prints, the ledger records and
the exit code is decided from."""

from __future__ import annotations

from enum import StrEnum


class Outcome(StrEnum):
    PROMOTED = "promoted"  # the release serves all traffic
    UNCHANGED = "unchanged"  # it already did: nothing moved
    ROLLED_BACK = "rolled back"  # a gate or the analysis failed: the previous release serves
    BLOCKED = "blocked"  # stopped before any traffic moved (gates, approvals, signatures)

    @property
    def ok(self) -> bool:
        return self in (Outcome.PROMOTED, Outcome.UNCHANGED)
