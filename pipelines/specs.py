"""Validating the specs of a repository (`shipyard validate`)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pipelines.errors import EXIT_BAD_INPUT, UsageError
from validators.errors import SpecError
from validators.spec.loader import SpecReport, load_all
from validators.spec.model import ModelDeployment

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
    return ValidationResult(_reports(paths, root))


def load_valid(paths: list[Path], root: Path) -> list[tuple[ModelDeployment, Path]]:
    """Every spec under `paths` (default: ROOT/specs) with its file, for a command that acts
    on them: all of them valid, else one SpecError with every problem of every file."""
    reports = _reports(paths, root)
    findings = [f for r in reports for f in r.findings]
    if findings:
        raise SpecError(findings)
    return [(r.spec, Path(r.file)) for r in reports if r.spec is not None]


def _reports(paths: list[Path], root: Path) -> list[SpecReport]:
    targets = paths or [root / SPECS_DIR]
    reports = load_all(targets, root=root.resolve())
    if not reports:
        shown = ", ".join(str(t) for t in targets)
        raise UsageError(
            f"no spec files (*.yaml, *.yml) under {shown}",
            hint="write one; docs/spec.md describes every field",
        )
    return reports
