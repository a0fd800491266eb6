"""benchmarks/state.py still runs: `--smoke` (tiny sizes, one run) end to end, printing
every figure of its table; on SQLite alone, and with the real PostgreSQL it starts itself.
The figures are not checked (timings belong in the benchmark, not in a pass/fail test)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARK = Path(__file__).resolve().parents[2] / "benchmarks" / "state.py"
ROWS = (
    "sqlite (WAL, synchronous=NORMAL)",
    "audit verify: Ledger.report (in process)",
    "shipyard audit verify (CLI)",
    "status: status_lines (in process, warm)",
    "shipyard status (CLI)",
)


def smoke(*argv: str) -> list[str]:
    result = subprocess.run(
        [sys.executable, str(BENCHMARK), "--smoke", *argv],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.splitlines()


def test_the_smoke_run_prints_every_figure_on_sqlite() -> None:
    lines = smoke("--no-postgres")
    for name in ROWS:
        assert any(line.startswith(name) for line in lines), f"no {name!r} in {lines}"
    assert not any(line.startswith("postgresql") for line in lines)
    assert lines[-1] == "smoke run: sizes too small for the goals to mean anything"


@pytest.mark.integration
def test_the_smoke_run_times_postgresql_too() -> None:
    lines = smoke()
    assert [line.split(" (")[0] for line in lines if line.startswith("postgresql")] == [
        "postgresql",
        "postgresql",
    ]
