"""Finding nginx and supervisord on the host, with stand-in executables that print a version."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from stacks.local import host
from stacks.local.host import HostTool, find_nginx, find_supervisord


def executable(folder: Path, name: str, script: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(f"#!/bin/sh\n{script}\n")
    path.chmod(0o755)
    return path


@pytest.fixture(autouse=True)
def bare_host(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No program on PATH, no nginx where Debian puts it, no supervisord beside python."""
    monkeypatch.setenv("PATH", str(tmp_path / "path"))
    monkeypatch.setattr(host, "NGINX_FALLBACKS", (tmp_path / "sbin" / "nginx",))
    monkeypatch.setattr(sys, "executable", str(tmp_path / "venv" / "bin" / "python"))


def test_nginx_on_path_reports_the_version_it_prints_on_stderr(tmp_path: Path) -> None:
    nginx = executable(tmp_path / "path", "nginx", 'echo "nginx version: nginx/1.22.1" >&2')
    assert find_nginx() == HostTool("nginx", nginx, "1.22.1", find_nginx().install_hint)
    assert find_nginx().found


def test_nginx_is_also_looked_for_where_debian_installs_it(tmp_path: Path) -> None:
    nginx = executable(tmp_path / "sbin", "nginx", 'echo "nginx version: nginx/1.18.0" >&2')
    found = find_nginx()
    assert (found.path, found.version) == (nginx, "1.18.0")


def test_an_nginx_that_fails_is_not_found(tmp_path: Path) -> None:
    executable(tmp_path / "path", "nginx", "exit 1")
    missing = find_nginx()
    assert (missing.path, missing.version, missing.found) == (None, None, False)
    assert "apt-get install nginx" in missing.install_hint


def test_supervisord_beside_python_comes_first(tmp_path: Path) -> None:
    executable(tmp_path / "path", "supervisord", "echo 4.0.0")
    venv = executable(tmp_path / "venv" / "bin", "supervisord", "echo 4.3.0")
    found = find_supervisord()
    assert (found.name, found.path, found.version) == ("supervisord", venv, "4.3.0")


def test_supervisord_on_path_is_used_without_one_beside_python(tmp_path: Path) -> None:
    on_path = executable(tmp_path / "path", "supervisord", "echo 4.2.5")
    assert (find_supervisord().path, find_supervisord().version) == (on_path, "4.2.5")


def test_no_supervisord_says_how_to_install_it() -> None:
    missing = find_supervisord()
    assert not missing.found
    assert missing.path is None
    assert missing.install_hint == (
        "run `make setup` (installs `supervisor` from PyPI into the project's venv)"
    )


def test_a_tool_is_found_only_with_a_path_and_a_version(tmp_path: Path) -> None:
    assert not HostTool("x", tmp_path, None, "").found
    assert not HostTool("x", None, "1", "").found
    assert HostTool("x", tmp_path, "1", "").found
