"""Labels that arrive after the predictions (a feedback file), joined to the logged ones.

A prediction log line has no request id, so a label is matched by its row: the feedback file
holds the model's input columns and the label column (`data.label`), and each row is keyed by
a 64-bit hash of its input values, normalised by kind (numbers as float64, categories as
strings), the same on both sides. CSV, Parquet and JSON Lines files are read.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from pipelines.core.errors import UsageError

if TYPE_CHECKING:
    import pandas as pd
    from numpy.typing import NDArray


def row_keys(frame: pd.DataFrame, kinds: dict[str, str]) -> NDArray[np.uint64]:
    """One hash per row of `frame`'s `kinds` columns (numeric -> float64, else string)."""
    import pandas as pd

    normal = pd.DataFrame(
        {
            name: pd.to_numeric(frame[name], errors="coerce").astype(np.float64)
            if kind == "numeric"
            else frame[name].astype("string").fillna("")
            for name, kind in kinds.items()
        }
    )
    return np.asarray(pd.util.hash_pandas_object(normal, index=False), dtype=np.uint64)


class Feedback:
    """Labels by row key; `match` finds the labelled rows of a chunk of logged predictions."""

    def __init__(self, keys: NDArray[np.uint64], labels: NDArray[np.float64]) -> None:
        order = np.argsort(keys)
        self.keys, self.labels = keys[order], labels[order]
        self.outputs: list[NDArray[np.float64]] = []
        self.matched: list[NDArray[np.float64]] = []

    def match(
        self, inputs: pd.DataFrame, outputs: NDArray[np.float64], kinds: dict[str, str]
    ) -> None:
        if not len(self.keys) or not len(inputs):
            return
        keys = row_keys(inputs, kinds)
        where = np.minimum(np.searchsorted(self.keys, keys), len(self.keys) - 1)
        hit = self.keys[where] == keys
        self.outputs.append(outputs[hit])
        self.matched.append(self.labels[where[hit]])

    def pairs(self) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """(labels, outputs) of every labelled prediction seen."""
        if not self.outputs:
            return np.zeros(0), np.zeros(0)
        return np.concatenate(self.matched), np.concatenate(self.outputs)


def load_feedback(path: Path, kinds: dict[str, str], label: str | None) -> Feedback:
    """The labels in `path`; every input column and the label column must be there."""
    import pandas as pd

    if label is None:
        raise UsageError("data.label: live accuracy needs the label column's name")
    if not path.is_file():
        raise UsageError(f"--feedback: no file {path}", hint="a CSV of input columns and the label")
    readers = {".parquet": pd.read_parquet, ".jsonl": lambda p: pd.read_json(p, lines=True)}
    try:
        frame = readers.get(path.suffix, pd.read_csv)(path)
    except Exception as exc:  # pandas parser errors have no common base
        raise UsageError(f"--feedback: {path} is not a readable table: {exc}") from None
    missing = [c for c in [*kinds, label] if c not in frame.columns]
    if missing:
        raise UsageError(
            f"--feedback: {path} lacks column(s) {', '.join(missing)}",
            hint="each row needs the model's input columns (to find its prediction) and the label",
        )
    frame = frame.dropna(subset=[label])
    return Feedback(row_keys(frame, kinds), np.asarray(frame[label], dtype=np.float64))
