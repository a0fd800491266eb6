"""A slot, its load client or its metrics could not be reached or read."""

from __future__ import annotations

from stacks.errors import StackError


class ReachError(StackError):
    """The slot or its metrics could not be measured at all (not: measured and bad)."""
