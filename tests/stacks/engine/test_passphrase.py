"""The generated Pulumi passphrase: processes starting at the same moment (two agents on one
host) agree on one whole passphrase, and one already there is never replaced."""

from __future__ import annotations

import multiprocessing
import stat
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Barrier
from pathlib import Path

from stacks.engine.automation import ensure_passphrase

RACERS = 8


def _race(path: str, start: Barrier, seen: Queue[str]) -> None:
    start.wait()
    ensure_passphrase(Path(path))
    seen.put(Path(path).read_text(encoding="utf-8"))


def test_processes_creating_it_at_once_read_the_same_whole_passphrase(tmp_path: Path) -> None:
    path = tmp_path / "pulumi" / "passphrase"
    fork = multiprocessing.get_context("fork")
    start, seen = fork.Barrier(RACERS), fork.Queue()
    racers = [fork.Process(target=_race, args=(str(path), start, seen)) for _ in range(RACERS)]
    for racer in racers:
        racer.start()
    read = [seen.get(timeout=30) for _ in racers]
    for racer in racers:
        racer.join(timeout=30)
    assert [r.exitcode for r in racers] == [0] * RACERS
    assert len(set(read)) == 1
    assert len(read[0]) >= 40
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert sorted(p.name for p in path.parent.iterdir()) == ["passphrase"]  # no drafts left


def test_one_already_there_is_kept(tmp_path: Path) -> None:
    path = tmp_path / "passphrase"
    path.write_text("kept", encoding="utf-8")
    ensure_passphrase(path)
    assert path.read_text(encoding="utf-8") == "kept"
