"""The host programs the local target drives: nginx (Debian package) and supervisord (PyPI)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

NGINX_FALLBACKS = (Path("/usr/sbin/nginx"), Path("/usr/local/sbin/nginx"))


@dataclass(frozen=True)
class HostTool:
    """A program found on this host, with the version it reports."""

    name: str
    path: Path | None
    version: str | None
    install_hint: str

    @property
    def found(self) -> bool:
        return self.path is not None and self.version is not None


def _version_of(argv: list[str], prefix: str = "") -> str | None:
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=20, check=True)
    except (OSError, subprocess.SubprocessError):
        return None
    text = (out.stdout + out.stderr).strip()
    return text.split(prefix, 1)[-1].strip() if prefix else text or None


def find_nginx() -> HostTool:
    hint = "run `make setup` (installs the Debian package `nginx`), or `apt-get install nginx`"
    found = shutil.which("nginx")
    candidates = [Path(found)] if found else []
    candidates += [p for p in NGINX_FALLBACKS if p.exists()]
    for path in candidates:
        version = _version_of([str(path), "-v"], prefix="nginx/")
        if version:
            return HostTool("nginx", path, version, hint)
    return HostTool("nginx", None, None, hint)


def find_supervisord() -> HostTool:
    hint = "run `make setup` (installs `supervisor` from PyPI into the project's venv)"
    beside_python = Path(sys.executable).parent / "supervisord"
    found = beside_python if beside_python.exists() else shutil.which("supervisord")
    path = Path(found) if found else None
    version = _version_of([str(path), "--version"]) if path else None
    return HostTool("supervisord", path, version, hint)
