"""nginx in front of a spec environment's slots: config rendering, graceful reload, and the
check that a new config is in effect (a digest served at /__shipyard/config)."""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Any

CONFIG_PATH = "/__shipyard/config"
UPSTREAM_HEADER = "X-Shipyard-Upstream"
_DIGEST = re.compile(r"# shipyard-digest: ([0-9a-f]+)")
_WEIGHTS = re.compile(r"# shipyard-weights: (\{.*\})")
_SERVER = re.compile(r"^\s*server\s+\S+\s+weight=(\d+)[^;\n]*;[ \t]*#[ \t]*(\S+)", re.MULTILINE)


def digest(listen: int, upstreams: dict[str, dict[str, int]], max_body: int) -> str:
    material = json.dumps([listen, upstreams, max_body], sort_keys=True)
    return hashlib.sha256(material.encode()).hexdigest()[:16]


def render(prefix: str, listen: int, upstreams: dict[str, dict[str, int]], max_body: int) -> str:
    """nginx.conf for one environment. A slot with weight 0 is left out (nginx has no
    weight=0); at least one slot must carry traffic."""
    live = {slot: u for slot, u in sorted(upstreams.items()) if int(u["weight"]) > 0}
    if not live:
        raise ValueError("at least one slot needs a weight above 0")
    tag = digest(listen, upstreams, max_body)
    servers = "\n".join(
        f"        server 127.0.0.1:{int(u['port'])} weight={int(u['weight'])} max_fails=0;"
        f"  # {slot}"
        for slot, u in live.items()
    )
    user = "user nobody nogroup;\n" if os.geteuid() == 0 else ""
    weights = json.dumps({slot: int(u["weight"]) for slot, u in sorted(upstreams.items())})
    return f"""# written by Shipyard (stacks/local); edits are drift that `pulumi refresh` reports
# shipyard-digest: {tag}
# shipyard-weights: {weights}
{user}worker_processes 1;
pid {prefix}/nginx.pid;
error_log {prefix}/logs/error.log warn;
events {{ worker_connections 2048; }}
http {{
    access_log off;
    client_body_temp_path {prefix}/tmp/body;
    proxy_temp_path {prefix}/tmp/proxy;
    fastcgi_temp_path {prefix}/tmp/fastcgi;
    uwsgi_temp_path {prefix}/tmp/uwsgi;
    scgi_temp_path {prefix}/tmp/scgi;
    upstream shipyard_slots {{
{servers}
        keepalive 64;
    }}
    server {{
        listen 127.0.0.1:{listen} reuseport;
        client_max_body_size {max_body};
        # Bodies and answers stay in memory: a worker runs as `nobody` and may not be able to
        # enter the state folder to spill them to the temp paths (a 500 for a large batch).
        client_body_buffer_size {max_body};
        proxy_max_temp_file_size 0;
        location = {CONFIG_PATH} {{
            default_type text/plain;
            return 200 "{tag}";
        }}
        location / {{
            proxy_pass http://shipyard_slots;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_next_upstream error timeout http_502 http_503;
            proxy_next_upstream_tries 3;
            add_header {UPSTREAM_HEADER} $upstream_addr always;
        }}
    }}
}}
"""


def prepare(prefix: str) -> Path:
    base = Path(prefix)
    for sub in ("logs", "tmp"):
        (base / sub).mkdir(parents=True, exist_ok=True)
    os.chmod(base / "tmp", 0o1777)
    return base / "nginx.conf"


def write(prefix: str, text: str, nginx: str) -> None:
    """Write the config atomically after `nginx -t` accepted it."""
    conf = prepare(prefix)
    candidate = conf.with_suffix(".conf.new")
    candidate.write_text(text, encoding="utf-8")
    test = subprocess.run(
        [nginx, "-t", "-q", "-p", prefix, "-e", f"{prefix}/logs/error.log", "-c", str(candidate)],
        capture_output=True,
        text=True,
    )
    if test.returncode != 0:
        candidate.unlink(missing_ok=True)
        raise RuntimeError(f"nginx rejected the config: {test.stderr.strip()}")
    os.replace(candidate, conf)


def workers(prefix: str) -> list[int]:
    """PIDs of the workers of the nginx whose pid file is under `prefix` that still accept
    connections (a worker told to quit retitles itself "is shutting down", then closes its
    listening sockets)."""
    try:
        master = int((Path(prefix) / "nginx.pid").read_text().strip())
    except (OSError, ValueError):
        return []
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and _parent(entry) == master and _accepting(entry):
            found.append(int(entry.name))
    return found


def _parent(entry: Path) -> int | None:
    try:
        return int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        return None


def _accepting(entry: Path) -> bool:
    try:
        title = (entry / "cmdline").read_bytes()
        state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return b"worker process" in title and b"shutting down" not in title and state != "Z"


def reload(prefix: str, nginx: str) -> list[int]:
    """Graceful reload: new workers take new connections, old ones finish theirs. Returns the
    old workers, for `wait_for` to see them stop accepting."""
    old = workers(prefix)
    subprocess.run(
        [
            nginx,
            "-p",
            prefix,
            "-e",
            f"{prefix}/logs/error.log",
            "-c",
            f"{prefix}/nginx.conf",
            "-s",
            "reload",
        ],
        check=True,
        capture_output=True,
    )
    return old


def serving(listen: int, timeout: float = 1.0) -> str | None:
    """The digest of the config nginx serves on `listen` now, or None when it does not answer."""
    try:
        with urllib.request.urlopen(
            f"http://127.0.0.1:{listen}{CONFIG_PATH}", timeout=timeout
        ) as r:
            return str(r.read().decode().strip())
    except OSError:
        return None


def wait_for(
    listen: int, tag: str, timeout: float = 30, retiring: list[int] | None = None
) -> float:
    """Seconds until nginx on `listen` serves the config `tag` and none of the `retiring`
    workers (the old ones of a reload) accepts connections any more: from then on every new
    connection gets the new config."""
    started = time.monotonic()
    old = [Path(f"/proc/{pid}") for pid in retiring or []]
    while serving(listen) != tag or any(_accepting(entry) for entry in old):
        if time.monotonic() - started > timeout:
            raise RuntimeError(f"nginx on port {listen} did not take config {tag} in {timeout}s")
        time.sleep(0.01)
    return time.monotonic() - started


def written(prefix: str) -> dict[str, Any] | None:
    """What the config file on disk says: its digest and weights (None when absent)."""
    conf = Path(prefix) / "nginx.conf"
    if not conf.exists():
        return None
    text = conf.read_text(encoding="utf-8")
    found_digest = _DIGEST.search(text)
    found_weights = _WEIGHTS.search(text)
    declared = json.loads(found_weights.group(1)) if found_weights else {}
    # The weights nginx would apply are those of the server lines (a slot left out has 0),
    # so a hand-edited weight is seen even when the comment above still says otherwise.
    in_use = {slot: int(weight) for weight, slot in _SERVER.findall(text)}
    return {
        "digest": found_digest.group(1) if found_digest else "edited",
        "weights": {**{slot: 0 for slot in declared}, **in_use},
        "sha256": hashlib.sha256(text.encode()).hexdigest(),
    }
