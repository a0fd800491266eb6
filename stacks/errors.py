"""Errors raised by the stacks layer. Each carries the exit code the CLI returns."""

from __future__ import annotations


class StackError(Exception):
    """Root of every error the stacks layer raises on purpose.

    `hint` tells the user what to do next; `exit_code` follows the project's convention
    (2 bad input or missing setup, 1 a failed operation).
    """

    exit_code = 1

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


class EngineNotFoundError(StackError):
    """No usable Pulumi CLI: not built yet, or the wrong version."""

    exit_code = 2


class StackLockedError(StackError):
    """Another update holds the stack's lock."""


class StackOperationError(StackError):
    """`pulumi up/preview/refresh/destroy` failed; the message carries the engine's own words."""
