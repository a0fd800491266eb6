"""Errors raised by the validators layer. Each carries the exit code the CLI returns."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from validators.spec.findings import Finding


class ValidatorError(Exception):
    """Root of every error the validators layer raises on purpose."""

    exit_code = 1

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


class SpecError(ValidatorError):
    """A spec file is invalid; `findings` holds every problem, located."""

    exit_code = 2

    def __init__(self, findings: list[Finding]) -> None:
        count = len(findings)
        first = findings[0].render().splitlines()[0] if findings else ""
        super().__init__(f"{count} problem(s) in spec: {first}")
        self.findings = findings
