"""`shipyard demo` refuses to run outside a checkout; `--keep-serving` is its one option."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.cli import demo
from tests.fakes.cli import parse, shipyard


def test_outside_a_checkout_it_says_where_to_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ran = shipyard(capsys, "-C", str(tmp_path), "demo")
    assert ran.code == 2
    assert ran.err.splitlines() == [
        f"error: specs/credit-risk.yaml is not in {tmp_path.resolve()}",
        "  hint: run the demo from a Shipyard checkout (or pass -C with its path)",
    ]
    assert ran.out == ""


def test_arguments() -> None:
    assert parse(demo).keep_serving is False
    assert parse(demo, "--keep-serving").keep_serving is True
