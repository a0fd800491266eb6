"""Validating the specs of a repository (`shipyard validate`)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pipelines.errors import EXIT_BAD_INPUT, UsageError
from validators.spec.loader import SpecReport, load_all

SPECS_DIR = "specs"


@dataclass(frozen=True)
class ValidationResult:
    reports: list[SpecReport]

    @property
    def exit_code(self) -> int:
        return 0 if all(r.ok for r in self.reports) else EXIT_BAD_INPUT

    def render(self, fmt: str) -> str:
        from pipelines.report.findings import render_json, render_text

        return render_json(self.reports) if fmt == "json" else render_text(self.reports)


def validate_paths(paths: list[Path], root: Path) -> ValidationResult:
    """Load every spec under `paths` (default: ROOT/specs); referenced files resolve under root."""
    targets = paths or [root / SPECS_DIR]
    reports = load_all(targets, root=root.resolve())
    if not reports:
        shown = ", ".join(str(t) for t in targets)
        raise UsageError(
            f"no spec files (*.yaml, *.yml) under {shown}",
            hint="write one; docs/spec.md describes every field",
        )
    return ValidationResult(reports)
