"""The one spec loader: read safely, check types, check rules, locate every problem.

    report = load_file(Path("specs/credit-risk.yaml"), root=Path("."))
    report.findings  # every problem, each at file:line:column with the field path

Bad input never raises: it becomes findings. `load_spec` is the raising form for the engine.
"""

from __future__ import annotations

import os
from collections.abc import Collection, Iterable
from dataclasses import dataclass, replace
from pathlib import Path

from pydantic import ValidationError

from validators.spec import messages as msg
from validators.spec.checks import Exists, check_spec
from validators.spec.fields import BUILTIN_TARGETS
from validators.spec.findings import Finding, Issue, SpecError, format_path
from validators.spec.model import ModelDeployment
from validators.spec.typeerrors import describe, from_error
from validators.spec.yamlsource import (
    Document,
    Problem,
    SourceError,
    decode,
    parse,
    source_lines,
)

SPEC_SUFFIXES = (".yaml", ".yml")


@dataclass(frozen=True)
class SpecReport:
    """The result of loading one file: the spec when valid, and every finding."""

    file: str
    spec: ModelDeployment | None
    findings: tuple[Finding, ...]
    name_at: Finding | None = None  # where metadata.name is written, for checks across files

    @property
    def ok(self) -> bool:
        return not self.findings


def load_text(
    text: str,
    file: str,
    exists: Exists | None = None,
    targets: Collection[str] = BUILTIN_TARGETS,
) -> SpecReport:
    """Load spec text; `file` names it in findings; `exists` enables the file checks;
    `targets` are the target names an environment may name."""
    try:
        doc = parse(text)
    except SourceError as exc:
        return SpecReport(file, None, (_from_problem(exc.problem, file, source_lines(text)),))
    return _load_document(doc, file, exists, targets)


def load_file(path: Path, root: Path, targets: Collection[str] = BUILTIN_TARGETS) -> SpecReport:
    """Load one spec file; files it references are looked up under `root`."""
    file = display_name(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        reason = exc.strerror or str(exc)
        return SpecReport(file, None, (Finding(file, 1, 1, "(root)", f"cannot read: {reason}"),))
    try:
        text = decode(raw)
    except SourceError as exc:
        return SpecReport(file, None, (_from_problem(exc.problem, file, []),))
    return load_text(text, file, lambda rel: (root / rel).exists(), targets)


def load_spec(
    path: Path, root: Path, targets: Collection[str] = BUILTIN_TARGETS
) -> ModelDeployment:
    """The valid spec in `path`, or a `SpecError` holding every finding."""
    report = load_file(path, root, targets)
    if report.spec is None or report.findings:
        raise SpecError(list(report.findings))
    return report.spec


def discover(paths: Iterable[Path]) -> tuple[list[Path], list[Finding]]:
    """Spec files under `paths` (folders are searched for *.yaml, *.yml), sorted, and a
    finding for each path that does not exist."""
    files: list[Path] = []
    missing: list[Finding] = []
    for path in paths:
        if path.is_dir():
            files += sorted(p for p in path.rglob("*") if p.suffix in SPEC_SUFFIXES and p.is_file())
        elif path.exists():
            files.append(path)
        else:
            name = display_name(path)
            missing.append(Finding(name, 1, 1, "(root)", "no such file or folder"))
    return files, missing


def load_all(
    paths: Iterable[Path], root: Path, targets: Collection[str] = BUILTIN_TARGETS
) -> list[SpecReport]:
    """Every spec under `paths`, plus checks across files (names are unique)."""
    files, missing = discover(paths)
    reports = [SpecReport(f.file, None, (f,)) for f in missing]
    reports += [load_file(path, root, targets) for path in files]
    return _unique_names(reports)


def display_name(path: Path) -> str:
    try:
        return os.path.relpath(path)
    except ValueError:
        return str(path)


def _load_document(
    doc: Document, file: str, exists: Exists | None, targets: Collection[str]
) -> SpecReport:
    findings = [_from_problem(p, file, doc.lines) for p in doc.problems]
    if not isinstance(doc.data, dict):
        issue = Issue((), msg.NOT_A_MAPPING.format(found=describe(doc.data)))
        return SpecReport(file, None, (*findings, _locate(issue, doc, file)))
    try:
        spec = ModelDeployment.model_validate(doc.data, context={"targets": tuple(targets)})
    except ValidationError as exc:
        issues = [from_error(ModelDeployment, e, doc.source_map.scalars) for e in exc.errors()]
        findings += [_locate(issue, doc, file) for issue in _drop_explained(issues)]
        return SpecReport(file, None, tuple(_dedupe(findings)))
    findings += [_locate(issue, doc, file) for issue in check_spec(spec, exists)]
    name_at = _locate(Issue(("metadata", "name"), ""), doc, file)
    return SpecReport(file, None if findings else spec, tuple(_dedupe(findings)), name_at)


def _drop_explained(issues: list[Issue]) -> list[Issue]:
    """A typo gives "unknown field `onwers`, did you mean `owners`?" and "missing `owners`":
    keep only the first, which says how to fix both."""
    explained = {
        (issue.path[:-1], msg.MISSING_FIELD.format(key=issue.hint.split("`")[1]))
        for issue in issues
        if issue.hint.startswith(msg.DID_YOU_MEAN.split("`")[0]) and issue.on_key
    }
    return [issue for issue in issues if (issue.path, issue.message) not in explained]


def _locate(issue: Issue, doc: Document, file: str) -> Finding:
    mark = doc.source_map.locate(issue.path, key=issue.on_key)
    return _from_problem(Problem(mark, issue.path, issue.message, issue.hint), file, doc.lines)


def _from_problem(problem: Problem, file: str, lines: list[str]) -> Finding:
    line, column = problem.mark.line, problem.mark.column
    if lines and line > len(lines):  # the end of the file: point after its last character
        line, column = len(lines), len(lines[-1]) + 1
    source = lines[line - 1] if 0 < line <= len(lines) else ""
    return Finding(
        file, line, column, format_path(problem.path), problem.message, problem.hint, source
    )


def _dedupe(findings: list[Finding]) -> list[Finding]:
    unique = dict.fromkeys(findings)
    return sorted(unique, key=lambda f: (f.line, f.column, f.path))


def _unique_names(reports: list[SpecReport]) -> list[SpecReport]:
    first: dict[str, str] = {}
    result = []
    for report in reports:
        spec = report.spec
        if spec is not None and spec.metadata.name in first:
            name = spec.metadata.name
            text = msg.DUPLICATE_SPEC_NAME.format(name=name, other=first[name])
            where = report.name_at or Finding(report.file, 1, 1, "metadata.name", "")
            finding = replace(where, message=text)
            report = SpecReport(report.file, None, (finding,))
        elif spec is not None:
            first[spec.metadata.name] = report.file
        result.append(report)
    return result
