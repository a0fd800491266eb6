"""Read what the services logged since the last read: the prediction log's outputs."""

from __future__ import annotations

import json
from pathlib import Path


class LogTail:
    """New `output` values appended to a slot's JSONL prediction logs since the last call."""

    def __init__(self, directory: str | None) -> None:
        self.directory = Path(directory) if directory else None
        self.offsets: dict[Path, int] = {}

    def skip_existing(self) -> LogTail:
        self.read()
        return self

    def read(self) -> list[float]:
        if self.directory is None or not self.directory.is_dir():
            return []
        outputs: list[float] = []
        for path in sorted(self.directory.glob("predictions-*.jsonl")):
            with path.open("rb") as handle:
                handle.seek(self.offsets.get(path, 0))
                data = handle.read()
            complete = data[: data.rfind(b"\n") + 1]
            self.offsets[path] = self.offsets.get(path, 0) + len(complete)
            for line in complete.splitlines():
                try:
                    outputs.append(float(json.loads(line)["output"]))
                except (ValueError, KeyError, TypeError):
                    continue
        return outputs
