"""The Supervisord provider's contract on literals and temp folders (no daemon is started:
the paths that would start one are covered by the local target's integration tests)."""

from __future__ import annotations

import sys
from pathlib import Path

from stacks.local.providers.supervisord import SupervisordProvider

provider = SupervisordProvider()
SUPERVISORD = str(Path(sys.executable).with_name("supervisord"))


def test_check_names_each_bad_property(tmp_path: Path) -> None:
    result = provider.check({}, {"config_dir": "relative/dir", "supervisord": str(tmp_path)})
    assert [(f.property, f.reason) for f in result.failures] == [
        ("config_dir", "must be an absolute path"),
        ("supervisord", "must be the supervisord executable"),
    ]
    fine = {"config_dir": str(tmp_path / "sv"), "supervisord": SUPERVISORD}
    assert provider.check({}, fine).failures == []
    assert provider.check({}, fine).inputs == fine


def test_a_new_config_dir_replaces_the_daemon() -> None:
    old = {"config_dir": "/a", "supervisord": SUPERVISORD, "pid": 123}
    moved = provider.diff("/a", old, {**old, "config_dir": "/b"})
    assert (moved.changes, moved.replaces, moved.delete_before_replace) == (
        True,
        ["config_dir"],
        True,
    )


def test_a_stopped_daemon_or_another_executable_is_an_update() -> None:
    running = {"config_dir": "/a", "supervisord": SUPERVISORD, "pid": 123}
    same = provider.diff("/a", running, dict(running))
    assert (same.changes, same.replaces) == (False, [])
    stopped = provider.diff("/a", {**running, "pid": None}, dict(running))
    assert (stopped.changes, stopped.replaces) == (True, [])
    other = provider.diff("/a", running, {**running, "supervisord": "/usr/bin/supervisord"})
    assert (other.changes, other.replaces) == (True, [])


def test_read_sees_a_removed_folder_as_gone_and_a_dead_daemon_as_no_pid(tmp_path: Path) -> None:
    props = {"config_dir": str(tmp_path), "supervisord": SUPERVISORD, "pid": 123, "socket": "s"}
    gone = provider.read(str(tmp_path / "removed"), props)
    assert (gone.id, gone.outs) == ("", {})
    (tmp_path / "supervisord.pid").write_text("999999999\n")  # no such process
    read = provider.read(str(tmp_path), props)
    assert read.id == str(tmp_path)
    assert read.outs is not None
    assert read.outs["pid"] is None
    assert read.inputs == {"config_dir": str(tmp_path), "supervisord": SUPERVISORD}


def test_deleting_a_daemon_that_is_not_running_is_fine(tmp_path: Path) -> None:
    provider.delete(str(tmp_path), {})
    assert list(tmp_path.iterdir()) == []
