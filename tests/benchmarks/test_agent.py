"""benchmarks/agent.py still runs: `--smoke` (one push, one failover, 1 s interval, no heal)
end to end with two real agent processes, printing its figures (not checked: timings
belong in the benchmark)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BENCHMARK = Path(__file__).resolve().parents[2] / "benchmarks" / "agent.py"


def test_the_smoke_run_prints_its_figures() -> None:
    result = subprocess.run(
        [sys.executable, str(BENCHMARK), "--smoke"], capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    for name in ("push to the start of its apply", "kill -9 of the leader to a new leader"):
        assert any(line.startswith(name) for line in lines), f"no {name!r} in {lines}"
    assert lines[-1] == "smoke run: one run each, no heal; the figures mean nothing"
