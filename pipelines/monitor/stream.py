"""What the monitor keeps while it streams a window: binned counts, and at most a sample.

The window is cut into `bins` equal time bins. Per bin, every profiled input feature and the
model output keep the bucket counts of the drift profile (`validators.gates.drift.Profile.counts`,
the buckets the offline gate uses), so PSI and Jensen-Shannon over any span of bins are exact
and memory is a few kilobytes whatever the traffic. KS and Wasserstein need raw values: when
the method is one of those, a uniform sample of the window's rows is kept as well (reservoir
sampling, Algorithm R, `SAMPLE_ROWS` rows) and the offline gate runs on it; the per-bin
series then shows PSI, a binned statistic.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from pipelines.monitor.logs import Chunk

if TYPE_CHECKING:
    import pandas as pd
    from numpy.typing import NDArray

    from validators.gates.drift import FeatureProfile, Profile

OUTPUT = "output"
SAMPLE_ROWS = 20_000
RAW_METHODS = ("ks", "wasserstein")


@dataclass(frozen=True)
class Window:
    """[start, end) in epoch seconds, cut into `bins` equal time bins."""

    start: float
    end: float
    bins: int = 24

    @property
    def width(self) -> float:
        return (self.end - self.start) / self.bins

    def bin_of(self, ts: NDArray[np.float64]) -> NDArray[np.int64]:
        """The bin of each timestamp; -1 outside the window."""
        index = np.floor((ts - self.start) / self.width).astype(np.int64)
        index[(ts < self.start) | (ts >= self.end)] = -1
        return np.minimum(index, self.bins - 1)

    def edges(self) -> list[float]:
        return [self.start + i * self.width for i in range(self.bins + 1)]


class Reservoir:
    """A uniform sample of at most `size` rows of everything added (Algorithm R, vectorised:
    the i-th row seen replaces a random slot j < i when j < size, later rows winning)."""

    def __init__(self, size: int, seed: int = 0) -> None:
        self.size = size
        self.seen = 0
        self.rng = np.random.default_rng(seed)
        self.columns: dict[str, NDArray[Any]] = {}
        self.filled = 0

    def add(self, frame: pd.DataFrame) -> None:
        if len(frame) == 0:
            return
        if not self.columns:
            self.columns = {
                str(c): np.empty(self.size, dtype=frame[c].to_numpy().dtype) for c in frame.columns
            }
        room = min(self.size - self.filled, len(frame))
        for name, values in self.columns.items():
            values[self.filled : self.filled + room] = frame[name].to_numpy()[:room]
        self.filled += room
        first = self.seen + room  # rows seen before the first one that may replace
        self.seen += len(frame)
        if room == len(frame):
            return
        slots = self.rng.integers(0, np.arange(first + 1, self.seen + 1))
        keep = np.flatnonzero(slots < self.size)
        # one row per slot: the last one to land there, as the sequential algorithm leaves it
        _, last = np.unique(slots[keep][::-1], return_index=True)
        rows = keep[::-1][last]
        for name, values in self.columns.items():
            values[slots[rows]] = frame[name].to_numpy()[room:][rows]

    def frame(self) -> pd.DataFrame | None:
        """The sample (None when nothing was added)."""
        import pandas as pd

        if not self.filled:
            return None
        return pd.DataFrame({name: v[: self.filled] for name, v in self.columns.items()})


@dataclass
class Accumulator:
    """Counts per time bin of each feature's (and the output's) drift buckets, rows per bin,
    and, for raw-value methods, reservoir samples; fed chunk by chunk."""

    profile: Profile
    output: FeatureProfile
    window: Window
    raw: bool = False
    counts: dict[str, NDArray[np.int64]] = field(default_factory=dict)
    rows: NDArray[np.int64] = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    sample: Reservoir = field(default_factory=lambda: Reservoir(SAMPLE_ROWS))

    def __post_init__(self) -> None:
        bins = self.window.bins
        self.rows = np.zeros(bins, dtype=np.int64)
        for name, fp in [*self.profile.features.items(), (OUTPUT, self.output)]:
            self.counts[name] = np.zeros((bins, len(fp.labels())), dtype=np.int64)

    def add(self, chunk: Chunk) -> None:
        """Count the chunk's rows into their time bins."""
        import pandas as pd

        bins = self.window.bin_of(chunk.ts)
        present = np.unique(bins[bins >= 0])
        frame = chunk.inputs.assign(**{OUTPUT: chunk.outputs})
        for b in present:
            mask = bins == b
            part = frame if mask.all() else frame[mask]
            self.rows[b] += len(part)
            for name, fp in self.profile.features.items():
                self.counts[name][b] += fp.counts(part[name])
            self.counts[OUTPUT][b] += self.output.counts(pd.Series(part[OUTPUT]))
            if self.raw:
                self.sample.add(part)

    def total(self, name: str) -> NDArray[np.int64]:
        """The window's counts of feature `name` (or `output`)."""
        return np.asarray(self.counts[name].sum(axis=0), dtype=np.int64)
