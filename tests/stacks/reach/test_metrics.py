"""Metrics sources: counters read against a baseline, windows asked from the reader's start."""

from __future__ import annotations

from stacks.reach.metrics import CounterSource, SlotSample, WindowSource


class Scripted(CounterSource):
    """Counters that read as the script says, one value a read."""

    def __init__(self, *samples: SlotSample) -> None:
        self.samples = list(samples)
        self.asked: list[str] = []

    @property
    def address(self) -> str:
        return "scripted"

    def counters(self, endpoint: str) -> SlotSample:
        self.asked.append(endpoint)
        return self.samples.pop(0)


class Windows(WindowSource):
    def __init__(self) -> None:
        self.asked: list[tuple[float, float]] = []

    @property
    def address(self) -> str:
        return "windows"

    def window(self, start: float, end: float) -> SlotSample:
        self.asked.append((start, end))
        return SlotSample(requests=end - start)


def test_since_subtracts_counts_and_buckets() -> None:
    earlier = SlotSample(10, 1, ((0.1, 8.0), (float("inf"), 10.0)))
    later = SlotSample(25, 3, ((0.1, 20.0), (float("inf"), 25.0)))
    assert later.since(earlier) == SlotSample(15, 2, ((0.1, 12.0), (float("inf"), 15.0)))


def test_a_restart_counts_from_zero_again() -> None:
    before_restart = SlotSample(100, 5, ((float("inf"), 100.0),))
    after_restart = SlotSample(7, 0, ((float("inf"), 7.0),))
    assert after_restart.since(before_restart) is after_restart


def test_a_counter_reader_reports_what_was_served_since_it_opened() -> None:
    source = Scripted(SlotSample(40, 2), SlotSample(55, 2), SlotSample(90, 4))
    reader = source.open("/predict")
    assert reader.read() == SlotSample(15, 0, ())
    assert reader.read() == SlotSample(50, 2, ())
    assert source.asked == ["/predict"] * 3


def test_a_window_reader_asks_from_its_start_to_now() -> None:
    source = Windows()
    ticks = iter([100.0, 160.0, 220.0])
    source.clock = lambda: next(ticks)
    reader = source.open("/predict")
    assert reader.read().requests == 60.0
    assert reader.read().requests == 120.0
    assert source.asked == [(100.0, 160.0), (100.0, 220.0)]


def test_the_kinds_are_told_apart_by_type() -> None:
    assert isinstance(Scripted(), CounterSource)
    assert not isinstance(Scripted(), WindowSource)
    assert isinstance(Windows(), WindowSource)
