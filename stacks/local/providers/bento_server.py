"""One BentoML server (a slot) as a supervisord program; created only when /readyz answers."""

from __future__ import annotations

import socket
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pulumi
from pulumi.dynamic import (
    CheckFailure,
    CheckResult,
    CreateResult,
    DiffResult,
    ReadResult,
    Resource,
    ResourceProvider,
    UpdateResult,
)

from stacks.local import supervisor as sv

INPUTS = ("name", "config_dir", "bentoml", "bento", "store", "port", "env", "ready_timeout")
RESTART_ON = ("bento", "store", "port", "env", "bentoml")
SHARED_STORES = ("bentos", "models")


def ready(port: int, timeout: float = 2.0) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=timeout) as r:
            return bool(r.status == 200)
    except (OSError, urllib.error.URLError):
        return False


def port_free(port: int) -> bool:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        return probe.connect_ex(("127.0.0.1", port)) != 0


def _program_file(props: dict[str, Any]) -> Path:
    return Path(props["config_dir"]) / "programs" / f"{props['name']}.conf"


def _ours(props: dict[str, Any]) -> bool:
    """The port is held by this very program (left running by an interrupted update)."""
    try:
        return _program_file(props).exists()
    except (KeyError, TypeError):
        return False


def link_stores(home: Path, store: Path) -> None:
    """Make `home` a BENTOML_HOME of its own whose Bento and model stores are `store`'s."""
    home.mkdir(parents=True, exist_ok=True)
    for name in SHARED_STORES:
        link, shared = home / name, store / name
        shared.mkdir(parents=True, exist_ok=True)
        if link.is_symlink() and link.resolve() == shared.resolve():
            continue
        link.unlink(missing_ok=True)
        link.symlink_to(shared, target_is_directory=True)


def _start(props: dict[str, Any]) -> dict[str, Any]:
    port = int(props["port"])
    if props.get("store"):
        link_stores(Path(props["env"]["BENTOML_HOME"]), Path(props["store"]))
    command = f"{props['bentoml']} serve {props['bento']} --host 127.0.0.1 --port {port}"
    text = sv.program_config(props["name"], command, dict(props["env"]), props["config_dir"])
    _program_file(props).write_text(text, encoding="utf-8")
    sv.apply_programs(props["config_dir"])
    deadline = time.monotonic() + float(props.get("ready_timeout") or 180)
    while not ready(port):
        info = sv.process_info(props["config_dir"], props["name"]) or {}
        if info.get("statename") in ("FATAL", "BACKOFF") or time.monotonic() > deadline:
            log = Path(props["config_dir"]) / "logs" / f"{props['name']}.log"
            raise RuntimeError(
                f"{props['name']} ({props['bento']}) is not ready on port {port} "
                f"(supervisord: {info.get('statename', '?')}); see {log}"
            )
        time.sleep(0.2)
    info = sv.process_info(props["config_dir"], props["name"]) or {}
    return {
        **{k: props.get(k) for k in INPUTS},
        "pid": info.get("pid"),
        "url": f"http://127.0.0.1:{port}",
        "state": "ready",
    }


class BentoServerProvider(ResourceProvider):
    def check(self, olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        failures = []
        port = news.get("port")
        if not isinstance(port, int | float) or not 1024 <= int(port) <= 65535:
            failures.append(CheckFailure("port", f"must be a port 1024..65535, got {port!r}"))
        elif int(port) != olds.get("port") and not port_free(int(port)) and not _ours(news):
            failures.append(CheckFailure("port", f"port {int(port)} is already in use"))
        if ":" not in str(news.get("bento", "")):
            failures.append(CheckFailure("bento", "must be a Bento tag NAME:VERSION"))
        return CheckResult(
            {**news, "port": int(port) if isinstance(port, int | float) else port}, failures
        )

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        replaces = ["name"] if olds.get("name") != news.get("name") else []
        changed = replaces or [k for k in RESTART_ON if olds.get(k) != news.get(k)]
        return DiffResult(
            changes=bool(changed) or olds.get("state") != "ready",
            replaces=replaces,
            delete_before_replace=True,
        )

    def create(self, props: dict[str, Any]) -> CreateResult:
        return CreateResult(id_=props["name"], outs=_start(props))

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        """The program as it really is: gone, not running, or not ready is drift."""
        if not _program_file(props).exists():
            return ReadResult(id_="", outs={})
        info = sv.process_info(props["config_dir"], id_) or {}
        running = info.get("statename") == sv.RUNNING
        state = "ready" if running and ready(int(props["port"])) else info.get("statename", "gone")
        outs = {**props, "pid": info.get("pid"), "state": str(state).lower()}
        return ReadResult(id_=id_, outs=outs, inputs={k: props[k] for k in INPUTS if k in props})

    def update(self, _id: str, _olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        return UpdateResult(outs=_start(news))

    def delete(self, id_: str, props: dict[str, Any]) -> None:
        _program_file(props).unlink(missing_ok=True)
        if sv.is_up(props["config_dir"]):
            sv.apply_programs(props["config_dir"])
        deadline = time.monotonic() + 30
        while not port_free(int(props["port"])) and time.monotonic() < deadline:
            time.sleep(0.1)


class BentoServer(Resource, module="shipyard", name="BentoServer"):
    """`bentoml serve BENTO` on 127.0.0.1:PORT under supervisord (restarted if it dies).
    With `store` (a shared BENTOML_HOME), `env["BENTOML_HOME"]` is made a home of the
    server's own that links to the store's Bentos and models."""

    url: pulumi.Output[str]
    pid: pulumi.Output[int]

    def __init__(
        self,
        name: str,
        *,
        config_dir: pulumi.Input[str],
        bentoml: str,
        bento: str,
        store: str | None = None,
        port: int,
        env: dict[str, str],
        ready_timeout: float = 180,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        props = {
            "name": name,
            "config_dir": config_dir,
            "bentoml": bentoml,
            "bento": bento,
            "store": store,
            "port": port,
            "env": env,
            "ready_timeout": ready_timeout,
            "pid": None,
            "url": None,
            "state": None,
        }
        super().__init__(BentoServerProvider(), name, props, opts)
