"""`shipyard monitor`'s report of specs it cannot watch (the watching itself is
tests/pipelines/monitor/'s): skipped with the reason, in text, JSON and the HTML file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipelines.cli import monitor
from tests.fakes.cli import parse, shipyard
from tests.fakes.projects import local_spec, project

WATCHED = local_spec("watched") + (
    "monitoring:\n  window: 1h\n  drift: {method: psi, max: 0.25, action: alert}\n"
)


def test_specs_without_monitoring_or_a_release_are_skipped_with_why(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project(tmp_path, {"a.yaml": local_spec("plain"), "b.yaml": WATCHED})
    ran = shipyard(capsys, "-C", str(tmp_path), "monitor")
    assert ran.code == 0
    assert ran.out.splitlines() == [
        "plain/production  skipped: no monitoring section in the spec",
        "",
        "watched/production  skipped: nothing runs in production",
        "",
        "2 spec(s): no breach",
    ]


def test_json_and_html_reports(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    project(tmp_path, {"b.yaml": WATCHED})
    html = tmp_path / "out" / "monitor.html"
    argv = ["-C", str(tmp_path), "monitor", "--env", "staging", "--format", "json"]
    ran = shipyard(capsys, *argv, "--html", str(html))
    (run,) = json.loads(ran.out)
    assert (run["spec"], run["env"], run["skipped"]) == (
        "watched",
        "staging",
        "nothing runs in staging",
    )
    page = html.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>")
    assert "nothing runs in staging" in page


def test_arguments() -> None:
    args = parse(monitor)
    assert (args.paths, args.env, args.window, args.format) == ([], "production", None, "text")
    assert (args.html, args.feedback, args.no_action) == (None, None, False)
    args = parse(monitor, "specs/a.yaml", "--window", "30m", "--feedback", "l.csv", "--no-action")
    assert (args.window, args.feedback, args.no_action) == ("30m", Path("l.csv"), True)
