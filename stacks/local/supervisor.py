"""Talk to a supervisord over its unix socket (XML-RPC), and render its config files."""

from __future__ import annotations

import fcntl
import hashlib
import os
import signal
import sys
import time
import xmlrpc.client
from pathlib import Path
from typing import Any

from stacks.local.launch import MARKER

RUNNING = "RUNNING"
LAUNCH = Path(__file__).with_name("launch.py")


def socket_path(config_dir: str) -> str:
    """A short socket path (unix sockets are limited to ~100 bytes) unique to `config_dir`."""
    digest = hashlib.sha256(config_dir.encode()).hexdigest()[:12]
    return f"/tmp/shipyard-sv-{digest}.sock"


def client(config_dir: str) -> Any:
    from supervisor.xmlrpc import SupervisorTransport

    transport = SupervisorTransport(None, None, f"unix://{socket_path(config_dir)}")
    return xmlrpc.client.ServerProxy("http://127.0.0.1", transport=transport)


def daemon_config(config_dir: str) -> str:
    base = Path(config_dir)
    return f"""; written by Shipyard (stacks/local): one supervisord per (spec, environment)
[unix_http_server]
file={socket_path(config_dir)}
chmod=0700

[supervisord]
logfile={base / "supervisord.log"}
pidfile={base / "supervisord.pid"}
childlogdir={base / "logs"}
logfile_maxbytes=10MB
logfile_backups=2
nodaemon=false
minfds=4096

[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface

[supervisorctl]
serverurl=unix://{socket_path(config_dir)}

[include]
files={base / "programs"}/*.conf
"""


def program_config(
    name: str, command: str, env: dict[str, str], directory: str, stopwait: int = 20
) -> str:
    # the launcher first ends what an abruptly killed earlier run left (see launch.py)
    env = {**env, MARKER: f"{directory}/{name}"}
    environment = ",".join(f'{k}="{v}"' for k, v in sorted(env.items()))
    return f"""; written by Shipyard (stacks/local)
[program:{name}]
command={sys.executable} -I {LAUNCH} {command}
directory={directory}
environment={environment}
autostart=true
autorestart=true
startsecs=1
startretries=5
stopsignal=TERM
stopwaitsecs={stopwait}
stopasgroup=true
killasgroup=true
redirect_stderr=true
stdout_logfile=%(here)s/../logs/{name}.log
stdout_logfile_maxbytes=10MB
stdout_logfile_backups=2
"""


def pid_of(config_dir: str) -> int | None:
    """The daemon's pid when it is alive."""
    try:
        pid = int((Path(config_dir) / "supervisord.pid").read_text().strip())
        os.kill(pid, 0)
    except (OSError, ValueError):
        return None
    return pid


def is_up(config_dir: str) -> bool:
    if pid_of(config_dir) is None:
        return False
    try:
        return bool(client(config_dir).supervisor.getState()["statename"] == RUNNING)
    except (OSError, xmlrpc.client.Error):
        return False


def apply_programs(config_dir: str) -> None:
    """Make supervisord match the program files: add new, restart changed, remove gone, start
    stopped. One call at a time per daemon: the engine deletes (or updates) several servers at
    once, and two calls that both stop and remove a group would fail (STILL_RUNNING)."""
    with (Path(config_dir) / "apply.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        rpc = client(config_dir)
        added, changed, removed = rpc.supervisor.reloadConfig()[0]
        for name in removed:
            rpc.supervisor.stopProcessGroup(name)
            rpc.supervisor.removeProcessGroup(name)
        for name in changed:
            rpc.supervisor.stopProcessGroup(name)
            rpc.supervisor.removeProcessGroup(name)
            rpc.supervisor.addProcessGroup(name)
        for name in added:
            rpc.supervisor.addProcessGroup(name)
        # Every program is autostart: one stopped by hand (or given up on) is started again,
        # unless its file is gone (a delete running beside this call is removing it).
        for info in rpc.supervisor.getAllProcessInfo():
            program = Path(config_dir) / "programs" / f"{info['group']}.conf"
            if info["statename"] in ("STOPPED", "EXITED", "FATAL") and program.exists():
                rpc.supervisor.startProcess(f"{info['group']}:{info['name']}", False)


def process_info(config_dir: str, name: str) -> dict[str, Any] | None:
    try:
        info: dict[str, Any] = client(config_dir).supervisor.getProcessInfo(name)
    except (OSError, xmlrpc.client.Error):
        return None
    return info


def shutdown(config_dir: str, timeout: float = 60) -> None:
    """Stop every program and the daemon; return once its pid is gone."""
    pid = pid_of(config_dir)
    if pid is None:
        return
    try:
        client(config_dir).supervisor.shutdown()
    except (OSError, xmlrpc.client.Error):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while pid_of(config_dir) is not None and time.monotonic() < deadline:
        time.sleep(0.1)
    if pid_of(config_dir) is not None:
        os.kill(pid, signal.SIGKILL)
    Path(socket_path(config_dir)).unlink(missing_ok=True)
