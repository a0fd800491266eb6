"""Read the spec's data files at their pinned revision through DVC (`dvc.api`)."""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from validators.errors import ValidatorError

if TYPE_CHECKING:
    import pandas as pd


class DataError(ValidatorError):
    """A data file is missing, unreadable, empty or lacks a needed column."""

    exit_code = 2


@dataclass(frozen=True)
class LoadedData:
    """A data set and where it came from; `digest` identifies its exact bytes."""

    frame: pd.DataFrame
    path: str
    rev: str | None
    digest: str

    @property
    def label(self) -> str:
        return f"{self.path}@{self.rev}" if self.rev else self.path


def read_dataset(root: Path, path: str, rev: str | None, field: str) -> LoadedData:
    """Read `path` (CSV or Parquet) at git revision `rev` of the repository at `root`.

    `field` is the spec field that named the file (`data.evaluation`), for error messages.
    """
    import dvc.api
    import pandas as pd

    try:
        raw = dvc.api.read(path, repo=str(root), rev=rev, mode="rb")
    except Exception as exc:  # dvc raises many types for "not there"; all mean the same here
        at = f" at rev {rev}" if rev else ""
        raise DataError(
            f"{field}.path: cannot read {path}{at}: {type(exc).__name__}: {exc}".rstrip(": "),
            hint=f"check the path and rev; for DVC-tracked data run `dvc pull {path}`",
        ) from None
    assert isinstance(raw, bytes)
    reader = pd.read_parquet if path.endswith((".parquet", ".pq")) else pd.read_csv
    try:
        frame = reader(io.BytesIO(raw))
    except Exception as exc:  # pandas parser errors have no common base
        raise DataError(f"{field}.path: {path} is not a readable table: {exc}") from None
    if frame.empty:
        raise DataError(f"{field}.path: {path} has no rows", hint="point it at a non-empty file")
    return LoadedData(frame, path, rev, hashlib.sha256(raw).hexdigest())


def require_columns(data: LoadedData, columns: list[str], field: str, why: str) -> None:
    """A one-line error naming the spec field when `data` lacks any of `columns`."""
    missing = [c for c in columns if c not in data.frame.columns]
    if missing:
        have = ", ".join(map(str, data.frame.columns[:12]))
        raise DataError(
            f"{field}: {data.path} has no column {', '.join(missing)} ({why})",
            hint=f"its columns are: {have}{', ...' if len(data.frame.columns) > 12 else ''}",
        )
