"""The BentoServer provider's contract on literals and temp folders, and its helpers (no
server is started: that path is covered by the local target's integration tests)."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from stacks.local.providers.bento_server import (
    BentoServerProvider,
    link_stores,
    port_free,
    ready,
)

provider = BentoServerProvider()


@pytest.fixture
def taken() -> Iterator[int]:
    """A port something else listens on."""
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        yield int(held.getsockname()[1])


@pytest.fixture
def free() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def props(tmp_path: Path, **changes: Any) -> dict[str, Any]:
    return {
        "name": "stable",
        "config_dir": str(tmp_path),
        "bentoml": "/venv/bin/bentoml",
        "bento": "credit_risk:aaa111",
        "store": None,
        "port": 18001,
        "env": {"SHIPYARD_SLOT": "stable"},
        "ready_timeout": 180,
        **changes,
    }


@pytest.mark.parametrize(
    ("port", "reason"),
    [
        (80, "must be a port 1024..65535, got 80"),
        (70000, "must be a port 1024..65535, got 70000"),
        ("18001", "must be a port 1024..65535, got '18001'"),
    ],
)
def test_check_refuses_ports_outside_the_user_range(
    tmp_path: Path, port: object, reason: str
) -> None:
    result = provider.check({}, props(tmp_path, port=port))
    assert [(f.property, f.reason) for f in result.failures] == [("port", reason)]


def test_check_refuses_a_port_in_use_and_a_bento_without_version(
    tmp_path: Path, taken: int
) -> None:
    result = provider.check({}, props(tmp_path, port=taken, bento="credit_risk"))
    assert [(f.property, f.reason) for f in result.failures] == [
        ("port", f"port {taken} is already in use"),
        ("bento", "must be a Bento tag NAME:VERSION"),
    ]


def test_check_accepts_a_port_held_by_this_very_program(tmp_path: Path, taken: int) -> None:
    (tmp_path / "programs").mkdir()
    (tmp_path / "programs" / "stable.conf").write_text("[program:stable]\n")
    result = provider.check({}, props(tmp_path, port=float(taken)))
    assert result.failures == []
    assert result.inputs["port"] == taken  # the engine's float back to an int


def test_check_keeps_the_port_it_already_has(tmp_path: Path, taken: int) -> None:
    assert provider.check({"port": taken}, props(tmp_path, port=taken)).failures == []


def test_diff_replaces_on_name_restarts_on_release_and_repairs_a_server_not_ready(
    tmp_path: Path,
) -> None:
    old = {**props(tmp_path), "state": "ready"}
    renamed = provider.diff("stable", old, props(tmp_path, name="canary"))
    assert (renamed.changes, renamed.replaces) == (True, ["name"])
    released = provider.diff("stable", old, props(tmp_path, bento="credit_risk:bbb222"))
    assert (released.changes, released.replaces) == (True, [])
    timeout_only = provider.diff("stable", old, props(tmp_path, ready_timeout=60))
    assert (timeout_only.changes, timeout_only.replaces) == (False, [])
    stopped = provider.diff("stable", {**old, "state": "stopped"}, props(tmp_path))
    assert stopped.changes is True


def test_read_sees_a_removed_program_file_as_gone(tmp_path: Path) -> None:
    read = provider.read("stable", props(tmp_path))
    assert (read.id, read.outs) == ("", {})


def test_read_sees_a_program_its_daemon_does_not_run_as_drift(tmp_path: Path) -> None:
    (tmp_path / "programs").mkdir()
    (tmp_path / "programs" / "stable.conf").write_text("[program:stable]\n")
    read = provider.read("stable", props(tmp_path))
    assert read.id == "stable"
    assert read.outs is not None
    assert (read.outs["state"], read.outs["pid"]) == ("gone", None)
    assert read.inputs == props(tmp_path)


def test_ports_and_readiness(taken: int, free: int) -> None:
    assert not port_free(taken)
    assert port_free(free)
    assert not ready(free, timeout=0.5)


def test_a_slot_home_links_the_shared_stores_once(tmp_path: Path) -> None:
    home, store = tmp_path / "homes" / "stable", tmp_path / "store"
    link_stores(home, store)
    for name in ("bentos", "models"):
        assert (home / name).is_symlink()
        assert (home / name).resolve() == (store / name).resolve()
    (store / "models" / "m").mkdir()
    link_stores(home, store)  # again: the links are kept
    assert (home / "models" / "m").is_dir()
    elsewhere = tmp_path / "other"
    link_stores(home, elsewhere)  # another store: the links move
    assert (home / "bentos").resolve() == (elsewhere / "bentos").resolve()
