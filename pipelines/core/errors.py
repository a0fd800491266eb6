"""The root of Shipyard's own errors. Each class carries the exit code the CLI returns."""

from __future__ import annotations

from stacks.errors import StackError
from validators.errors import ValidatorError

EXIT_FAILED = 1  # a gate or an operation failed; the report says which
EXIT_BAD_INPUT = 2  # the input (spec, arguments, setup) is wrong; the message says how to fix it
EXIT_INTERNAL = 3  # a bug in Shipyard


class ShipyardError(Exception):
    """An error meant for the user: a message, a hint for what to do, and an exit code."""

    exit_code = EXIT_FAILED

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


class UsageError(ShipyardError):
    """Bad arguments or a missing prerequisite the user can fix."""

    exit_code = EXIT_BAD_INPUT


# What a user did or must fix, whichever layer noticed it: said in one line, never a traceback.
USER_ERRORS: tuple[type[Exception], ...] = (ShipyardError, StackError, ValidatorError)
