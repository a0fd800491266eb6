"""Cases of the data gate's forked worker, run by tests/pipelines/gates/test_worker.py in an
interpreter of their own: the worker (rightly) refuses to fork a process that runs threads, and
a long pytest session has threads left by earlier tests. Not collected on its own (no test_
prefix)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from pipelines.demo.dataset import generate
from pipelines.gates.worker import DataGateWorker
from validators.gates.data import suite_results
from validators.sources.datasets import LoadedData
from validators.sources.expectations import load_suite

SUITE = Path(__file__).resolve().parents[2] / "validators" / "suites" / "credit.yaml"


def _datasets() -> list[tuple[str, LoadedData]]:
    good = generate(2000, seed=7)
    bad = good.assign(age=good["age"] - 200)  # below the suite's minimum age
    return [
        ("evaluation", LoadedData(good, "data/credit/holdout.csv", None, "d1")),
        ("reference", LoadedData(bad, "data/credit/train.csv", "v1", "d2")),
    ]


def test_the_worker_gives_the_in_process_results(monkeypatch: pytest.MonkeyPatch) -> None:
    import tqdm  # type: ignore[import-untyped]  # ships no types

    worker = DataGateWorker.start(SUITE)
    assert worker is not None, "fork is available on Linux with two cores"
    worker.submit(_datasets())
    remote = worker.results()
    # GX's progress bars would start tqdm's monitor thread here, and a process with threads
    # is never forked again (the next tests start workers).
    monkeypatch.setattr(tqdm.tqdm, "monitor_interval", 0)
    local = suite_results(load_suite(SUITE), _datasets())
    assert remote is not None
    assert [r.name for r in remote] == [
        "evaluation (data/credit/holdout.csv): credit",
        "reference (data/credit/train.csv@v1): credit",
    ]
    assert [r.passed for r in remote] == [True, False]
    assert [replace(r, duration_s=0.0) for r in remote] == [
        replace(r, duration_s=0.0) for r in local
    ]


def test_a_broken_suite_gives_way_to_the_in_process_error(tmp_path: Path) -> None:
    suite = tmp_path / "suite.yaml"
    suite.write_text("name: s\nexpectations: [{expect_no_such_thing: {}}]\n", encoding="utf-8")
    worker = DataGateWorker.start(suite)
    assert worker is not None
    worker.submit(_datasets())
    assert worker.results() is None
    with pytest.raises(ValueError, match="unknown expectation"):
        load_suite(suite)


def test_closing_an_unused_worker_stops_its_process() -> None:
    worker = DataGateWorker.start(SUITE)
    assert worker is not None
    worker.close()
    worker.close()  # twice is fine
    assert worker.results() is None
