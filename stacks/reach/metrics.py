"""What a slot served, read from where its target keeps it. Two kinds of source, told apart by
type: a `CounterSource` gives cumulative counters that run since a server started (BentoML's
/metrics, Prometheus), read against a baseline; a `WindowSource` keeps statistics per period
(CloudWatch) and is asked for a window directly. Both open a `SlotMetrics` reader whose `read`
is what the slot served since it was opened (the canary's start)."""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True)
class SlotSample:
    """Counts of one slot's API endpoint: requests, 5xx answers, and latency as a histogram
    (cumulative counters) or as a p95 the source computed over the same requests (CloudWatch
    keeps no histogram)."""

    requests: float = 0.0
    errors: float = 0.0
    buckets: tuple[tuple[float, float], ...] = field(default_factory=tuple)  # (le, cumulative)
    p95_ms: float | None = None

    def since(self, earlier: SlotSample) -> SlotSample:
        """The counts between `earlier` and this sample (a restart resets to this sample)."""
        if self.requests < earlier.requests:
            return self
        before = dict(earlier.buckets)
        return SlotSample(
            self.requests - earlier.requests,
            self.errors - earlier.errors,
            tuple((le, n - before.get(le, 0.0)) for le, n in self.buckets),
        )


class SlotMetrics(Protocol):
    def read(self) -> SlotSample:
        """What the slot served since the reader was opened."""
        ...


class CounterSource(ABC):
    """Cumulative counters since a server started."""

    @property
    @abstractmethod
    def address(self) -> str:
        """Where the counters are read, as people read it."""

    @abstractmethod
    def counters(self, endpoint: str) -> SlotSample:
        """The cumulative counters of the API `endpoint` (e.g. `/predict`) now."""

    def open(self, endpoint: str) -> SlotMetrics:
        """A reader of what `endpoint` serves from now on (a baseline read now)."""
        return _CounterDelta(self, endpoint)


class WindowSource(ABC):
    """Statistics kept per period: a window is asked for directly."""

    clock: Callable[[], float] = staticmethod(time.time)

    @property
    @abstractmethod
    def address(self) -> str:
        """Where the statistics are read, as people read it."""

    @abstractmethod
    def window(self, start: float, end: float) -> SlotSample:
        """What the slot served between `start` and `end` (epoch seconds)."""

    def open(self, endpoint: str) -> SlotMetrics:
        """A reader of windows from now on (a window source has one invocation path, so
        `endpoint` is not part of the question)."""
        return _WindowSince(self, self.clock())


MetricsSource = CounterSource | WindowSource


class _CounterDelta:
    def __init__(self, source: CounterSource, endpoint: str) -> None:
        self.source, self.endpoint = source, endpoint
        self.baseline = source.counters(endpoint)

    def read(self) -> SlotSample:
        return self.source.counters(self.endpoint).since(self.baseline)


class _WindowSince:
    def __init__(self, source: WindowSource, started: float) -> None:
        self.source, self.started = source, started

    def read(self) -> SlotSample:
        return self.source.window(self.started, self.source.clock())
