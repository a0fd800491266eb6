"""`shipyard plan`: the specs' offline gates, or with `--base` the plan of a change; the
arguments that cannot go together are refused before anything runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.cli import plan
from tests.fakes.cli import parse, shipyard
from tests.fakes.projects import BAD_SPEC, local_spec, project


def test_an_invalid_spec_is_bad_input_before_any_gate(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ws = project(tmp_path, {"good.yaml": local_spec("good"), "bad.yaml": BAD_SPEC})
    ran = shipyard(capsys, "-C", str(tmp_path), "plan")
    assert ran.code == 2
    assert ran.err.startswith("error: 2 problem(s) in spec: ")
    assert not ws.cache.exists()


@pytest.mark.parametrize(
    ("argv", "error"),
    [
        (["--head", "HEAD"], "error: --head needs --base (the revision the change starts from)"),
        (["specs/a.yaml", "--base", "HEAD"], "error: give either SPEC paths or --base, not both"),
    ],
)
def test_arguments_that_do_not_go_together(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], error: str
) -> None:
    ran = shipyard(capsys, "-C", str(tmp_path), "plan", *argv)
    assert (ran.code, ran.err) == (2, error + "\n")


def test_arguments() -> None:
    args = parse(plan)
    assert (args.paths, args.format, args.html, args.base, args.head) == (
        [],
        "text",
        None,
        None,
        None,
    )
    assert (args.no_preview, args.approvals, args.no_cache) == (False, "local", False)
    args = parse(plan, "--base", "main", "--format", "markdown", "--no-preview", "--no-cache")
    assert (args.base, args.format, args.no_preview, args.no_cache) == (
        "main",
        "markdown",
        True,
        True,
    )
    with pytest.raises(SystemExit, match=r"^2$"):
        parse(plan, "--format", "html")
