"""Reading what the servers logged since the last read: only whole new lines, every file of
the slot's folder, bad lines skipped."""

from __future__ import annotations

import json
from pathlib import Path

from pipelines.release.prediction_log import LogTail


def line(output: float) -> str:
    return json.dumps({"ts": 1.0, "inputs": {"a": 1}, "output": output}) + "\n"


def test_only_what_was_appended_since_the_last_read(tmp_path: Path) -> None:
    log = tmp_path / "predictions-1.jsonl"
    log.write_text(line(0.1) + line(0.2), encoding="utf-8")
    tail = LogTail(str(tmp_path)).skip_existing()
    assert tail.read() == []
    with log.open("a", encoding="utf-8") as out:
        out.write(line(0.3) + '{"output": 0.4')  # the last line is still being written
    assert tail.read() == [0.3]
    with log.open("a", encoding="utf-8") as out:
        out.write("}\n")
    assert tail.read() == [0.4]


def test_every_log_file_and_no_bad_line(tmp_path: Path) -> None:
    (tmp_path / "predictions-1.jsonl").write_text(line(1.0) + "not json\n", encoding="utf-8")
    (tmp_path / "predictions-2.jsonl").write_text(line(2.0) + '{"no": 1}\n', encoding="utf-8")
    (tmp_path / "other.jsonl").write_text(line(9.0), encoding="utf-8")
    assert LogTail(str(tmp_path)).read() == [1.0, 2.0]


def test_a_slot_without_logs_reads_nothing(tmp_path: Path) -> None:
    assert LogTail(None).read() == []
    assert LogTail(str(tmp_path / "missing")).read() == []
