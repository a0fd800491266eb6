"""Spec validation results as terminal text or JSON."""

from __future__ import annotations

import json
from collections.abc import Sequence

from validators.spec.loader import SpecReport


def render_text(reports: Sequence[SpecReport]) -> str:
    lines: list[str] = []
    for report in reports:
        if report.ok and report.spec is not None:
            lines.append(f"ok     {report.file} ({report.spec.metadata.name})")
        for finding in report.findings:
            lines.append(finding.render())
    bad = [r for r in reports if not r.ok]
    problems = sum(len(r.findings) for r in bad)
    summary = f"{len(reports)} spec(s) checked: {len(reports) - len(bad)} valid"
    if bad:
        summary += f", {len(bad)} invalid with {problems} problem(s)"
    lines.append(summary)
    return "\n".join(lines)


def render_json(reports: Sequence[SpecReport]) -> str:
    document = {
        "valid": all(r.ok for r in reports),
        "specs": [
            {
                "file": r.file,
                "name": r.spec.metadata.name if r.spec else None,
                "valid": r.ok,
                "findings": [f.to_json() for f in r.findings],
            }
            for r in reports
        ],
    }
    return json.dumps(document, indent=2)
