"""Errors raised by the validators layer. Each carries the exit code the CLI returns."""

from __future__ import annotations


class ValidatorError(Exception):
    """Root of every error the validators layer raises on purpose."""

    exit_code = 1

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
