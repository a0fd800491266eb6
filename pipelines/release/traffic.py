"""Synthetic traffic: replay evaluation rows at a fixed rate through a sender (a target's
client of its endpoint), counting answers. The demo and the tests use it as "production
traffic" during a canary."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

Send = Callable[[dict[str, Any]], tuple[int, Any]]  # one JSON request: (status, answer)


@dataclass
class Replay:
    send: Send
    rows: list[dict[str, Any]]
    rps: float
    threads: int = 4
    statuses: Counter[int] = field(default_factory=Counter)
    _stop: threading.Event = field(default_factory=threading.Event)
    _workers: list[threading.Thread] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> Replay:
        for index in range(self.threads):
            worker = threading.Thread(target=self._run, args=(index,), daemon=True)
            worker.start()
            self._workers.append(worker)
        return self

    def stop(self) -> Counter[int]:
        self._stop.set()
        for worker in self._workers:
            worker.join(timeout=15)
        return self.statuses

    def _run(self, index: int) -> None:
        interval = self.threads / self.rps
        position, next_at = index, time.monotonic()
        while not self._stop.is_set():
            status, _ = self.send({"rows": [self.rows[position % len(self.rows)]]})
            with self._lock:
                self.statuses[status] += 1
            position += self.threads
            next_at += interval
            delay = next_at - time.monotonic()
            if delay > 0:
                self._stop.wait(delay)
            else:
                next_at = time.monotonic()
