"""A problem found in a spec file, located at `file:line:column` and a field path."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from validators.errors import ValidatorError

Path_ = tuple[str | int, ...]


def format_path(path: Path_) -> str:
    """`("environments", 1, "rollout")` -> `environments[1].rollout`; the root is `(root)`."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text or "(root)"


@dataclass(frozen=True)
class Issue:
    """A problem at a field path, before it is located in a file."""

    path: Path_
    message: str
    hint: str = ""
    on_key: bool = False


@dataclass(frozen=True)
class Finding:
    """One error: where it is, what was found, what was expected, and how to fix it."""

    file: str
    line: int
    column: int
    path: str
    message: str
    hint: str = ""
    source: str = ""

    def render(self) -> str:
        """`file:line:col: path: message`, the source line with a caret, and the hint."""
        head = f"{self.file}:{self.line}:{self.column}: {self.path}: {self.message}"
        lines = [head]
        if self.source:
            gutter = f"{self.line:>5} | "
            lines.append(gutter + self.source)
            lines.append(" " * (len(gutter) - 2) + "| " + " " * (self.column - 1) + "^")
        if self.hint:
            lines.append(f"      = hint: {self.hint}")
        return "\n".join(lines)

    def to_json(self) -> dict[str, object]:
        return asdict(self)


class SpecError(ValidatorError):
    """A spec file is invalid; `findings` holds every problem, located."""

    exit_code = 2

    def __init__(self, findings: list[Finding]) -> None:
        count = len(findings)
        first = findings[0].render().splitlines()[0] if findings else ""
        super().__init__(f"{count} problem(s) in spec: {first}")
        self.findings = findings
