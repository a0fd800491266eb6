"""The specs of a repository as the engine loads them: every command goes through these, so
an environment may name any target the registry knows (plugins' too), and `shipyard
validate` reports every problem of every file."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from pipelines.core.errors import EXIT_BAD_INPUT, UsageError
from validators.spec import loader
from validators.spec.findings import SpecError
from validators.spec.loader import SpecReport
from validators.spec.model import ModelDeployment

SPECS_DIR = "specs"


@dataclass(frozen=True)
class ValidationResult:
    reports: list[SpecReport]

    @property
    def exit_code(self) -> int:
        return 0 if all(r.ok for r in self.reports) else EXIT_BAD_INPUT


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
    where = paths or [root / SPECS_DIR]
    reports = load_all(where, root.resolve())
    if not reports:
        shown = ", ".join(str(p) for p in where)
        raise UsageError(
            f"no spec files (*.yaml, *.yml) under {shown}",
            hint="write one; docs/spec.md describes every field",
        )
    return reports


def deployable_targets() -> tuple[str, ...]:
    """The target names an environment may name: the registry's (asked each time, so a
    target registered after start-up counts)."""
    from stacks.registry import known_targets

    return tuple(known_targets())


def load_all(paths: Iterable[Path], root: Path) -> list[SpecReport]:
    return loader.load_all(paths, root, deployable_targets())


def load_file(path: Path, root: Path) -> SpecReport:
    return loader.load_file(path, root, deployable_targets())


def load_text(text: str, file: str) -> SpecReport:
    return loader.load_text(text, file, targets=deployable_targets())


def load_spec(path: Path, root: Path) -> ModelDeployment:
    """The valid spec in `path`, or a `SpecError` holding every finding."""
    return loader.load_spec(path, root, deployable_targets())
