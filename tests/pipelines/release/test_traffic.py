"""Synthetic traffic: rows replayed in turn at about the asked rate, every answer counted."""

from __future__ import annotations

import threading
import time
from typing import Any

from pipelines.release.traffic import Replay


def test_rows_are_replayed_in_turn_and_every_answer_is_counted() -> None:
    sent: list[dict[str, Any]] = []
    lock = threading.Lock()

    def send(body: dict[str, Any]) -> tuple[int, Any]:
        with lock:
            sent.append(body["rows"][0])
            return (503 if len(sent) % 4 == 0 else 200), None

    rows = [{"i": i} for i in range(3)]
    replay = Replay(send, rows, rps=40, threads=2).start()
    time.sleep(1.0)
    statuses = replay.stop()
    assert 20 <= sum(statuses.values()) <= 60  # about 40 a second (a loaded host is slower)
    assert sum(statuses.values()) == len(sent)
    assert set(statuses) == {200, 503}
    assert {row["i"] for row in sent} == {0, 1, 2}
