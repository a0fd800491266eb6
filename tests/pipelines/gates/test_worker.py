"""The data gate's forked worker gives the results the data gate gives in-process, and gives
way (None) whenever it cannot, so the caller's own run raises the real error."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from pipelines.gates.worker import DataGateWorker

REPO = Path(__file__).resolve().parents[3]
CASES = REPO / "tests" / "fakes" / "gateworker_cases.py"
SUITE = REPO / "validators" / "suites" / "credit.yaml"


def test_worker_cases_in_a_process_without_threads() -> None:
    """tests/fakes/gateworker_cases.py in a fresh interpreter, where the worker may fork."""
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            str(CASES),
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=300,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "3 passed" in run.stdout, run.stdout


def test_no_worker_once_the_process_runs_threads() -> None:
    import threading

    stop = threading.Event()
    thread = threading.Thread(target=stop.wait)
    thread.start()
    try:
        assert DataGateWorker.start(SUITE) is None
    finally:
        stop.set()
        thread.join()
