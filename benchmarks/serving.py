"""The built BentoML service vs `mlflow models serve` for the same model, side by side.

    .venv/bin/python benchmarks/serving.py [--spec specs/credit-risk.yaml] [--rounds 3]
        [--duration 15] [--warmup 3] [--connections 32] [--threads 2] [--mlflow-workers N]

Builds (or reuses) the spec's Bento, starts `bentoml serve TAG` and `mlflow models serve -m
MODEL --env-manager local` on free local ports, each in its own session, and times each from
process start to ready (bentoml: /readyz, mlflow: /ping). Both get the same number of worker
processes: the spec's `service.workers` (mlflow's own default is 1 uvicorn worker; pass
--mlflow-workers 1 to measure that). Both answer ~100 real holdout rows identically before any
load is sent. Load comes from wrk (Debian's `wrk`, scripted by benchmarks/serving.lua): every
request carries ONE row (batching is the server's job), rotating through the rows; fixed
connections and threads for a fixed duration after a warm-up, in rounds that alternate which
server goes first. Reports the medians over rounds of throughput and p50/p90/p95/p99, the
ratios, non-2xx and socket errors (must be 0), and wrk's own capacity against a trivial nginx
endpoint with the same script, so the client is shown not to be the bottleneck.

Goal (serving issue): at least 2x mlflow's throughput with p95 no worse.
Exit status: 0 when the goal is met, 1 when missed or on an error, 2 when wrk is missing.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
LUA = Path(__file__).with_name("serving.lua")
BIN = Path(sys.executable).parent
STATE = ROOT / ".shipyard"
READY_TIMEOUT_S = 180.0
STOP_TIMEOUT_S = 15.0
MAX_ROWS = 100
SUMMARY = re.compile(r"^SHIPYARD (.*)$", re.MULTILINE)
WRK_MISSING = """wrk (the HTTP load generator) is not installed.
Install it from Debian/Ubuntu:   sudo apt-get update && sudo apt-get install -y wrk
(other systems: https://github.com/wg/wrk), then run this benchmark again."""


class BenchError(Exception):
    """The benchmark could not run; the message says why."""


class Interrupted(BaseException):
    """SIGTERM/SIGHUP: unwind like Ctrl-C so every server is stopped."""


@dataclass
class Server:
    name: str
    argv: list[str]
    env: dict[str, str]
    ready_url: str
    predict_url: str
    bodies: Path
    log: Path
    proc: subprocess.Popen[bytes] | None = None
    ready_s: float = math.nan


@dataclass
class Run:
    rps: float
    p50: float  # milliseconds
    p90: float
    p95: float
    p99: float
    non2xx: int
    errors: int
    requests: int


@dataclass
class Results:
    runs: dict[str, list[Run]] = field(default_factory=dict)

    def median(self, name: str, attr: str) -> float:
        return statistics.median(float(getattr(r, attr)) for r in self.runs[name])

    def total(self, name: str, attr: str) -> int:
        return sum(int(getattr(r, attr)) for r in self.runs[name])


# --- processes -----------------------------------------------------------------------------


def _children() -> dict[int, list[int]]:
    """Parent pid -> child pids, from /proc."""
    tree: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        tree.setdefault(ppid, []).append(int(entry.name))
    return tree


def _descendants(pid: int) -> set[int]:
    tree, found, todo = _children(), set[int](), [pid]
    while todo:
        for child in tree.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _signal(pids: set[int], sig: signal.Signals) -> None:
    for pid in pids:
        with suppress(ProcessLookupError):
            os.kill(pid, sig)


def stop(server: Server) -> None:
    """SIGTERM the server's session (and every descendant: BentoML's workers run in sessions
    of their own), SIGKILL whatever is left after a grace period, reap the leader."""
    proc = server.proc
    if proc is None:
        return
    pids = {proc.pid} | _descendants(proc.pid)
    with suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    _signal(pids - {proc.pid}, signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT_S
    while time.monotonic() < deadline:
        proc.poll()
        pids |= {p for pid in list(pids) if _alive(pid) for p in _descendants(pid)}
        if not any(_alive(pid) for pid in pids):
            break
        time.sleep(0.1)
    left = {pid for pid in pids if _alive(pid)}
    if left:
        print(f"  {server.name}: {len(left)} process(es) ignored SIGTERM, killing", flush=True)
        with_groups = left | {proc.pid}
        with suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        _signal(with_groups, signal.SIGKILL)
    proc.wait(timeout=STOP_TIMEOUT_S)
    server.proc = None


@contextmanager
def running(servers: list[Server]) -> Iterator[None]:
    """Start every server (each in its own session, the next once the previous is ready);
    always stop them all on the way out."""
    previous = {sig: signal.signal(sig, _interrupt) for sig in (signal.SIGTERM, signal.SIGHUP)}
    try:
        for server in servers:  # one after the other, so each start is timed alone
            started = time.perf_counter()
            with server.log.open("wb") as log:
                server.proc = subprocess.Popen(
                    server.argv,
                    env=server.env,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            _wait_ready(server, started)
        yield
    finally:
        # Ctrl-C again while stopping must not leave servers behind
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        for server in servers:
            try:
                stop(server)
            except Exception as exc:  # keep stopping the others
                print(f"  could not stop {server.name} cleanly: {exc}", file=sys.stderr)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise Interrupted(f"signal {signum}")


def _wait_ready(server: Server, started: float) -> None:
    """Poll the readiness URL; `ready_s` is the time from process start to the first 200."""
    assert server.proc is not None
    deadline = started + READY_TIMEOUT_S
    while time.perf_counter() < deadline:
        if server.proc.poll() is not None:
            raise BenchError(
                f"{server.name} exited with {server.proc.returncode} before it was ready:\n"
                + _tail(server.log)
            )
        try:
            with urllib.request.urlopen(server.ready_url, timeout=2) as response:
                if response.status == 200:
                    server.ready_s = time.perf_counter() - started
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.05)
    raise BenchError(
        f"{server.name} not ready after {READY_TIMEOUT_S:.0f} s:\n" + _tail(server.log)
    )


def _tail(path: Path, lines: int = 25) -> str:
    text = path.read_text(errors="replace") if path.exists() else ""
    return "\n".join("    " + line for line in text.splitlines()[-lines:])


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


# --- inputs ----------------------------------------------------------------------------------


def build(spec: Path) -> tuple[str, Path]:
    """`shipyard build SPEC`: the Bento's tag and path (built, or reused when unchanged)."""
    result = subprocess.run(
        [str(BIN / "shipyard"), "build", str(spec)],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    match = re.search(r"^bento:\s+(\S+)\s+\((.+)\)\s*$", result.stdout, re.MULTILINE)
    if result.returncode != 0 or match is None:
        raise BenchError(f"shipyard build {spec} failed:\n{result.stdout}{result.stderr}")
    for line in result.stdout.splitlines():
        print(f"  {line}")
    return match[1], Path(match[2])


def _value(text: str, kind: str, nullable: bool) -> Any:
    if text == "" and nullable:
        return None
    if kind in ("long", "integer"):
        return int(float(text))
    if kind in ("double", "float"):
        return float(text)
    if kind == "boolean":
        return text.strip().lower() in ("1", "true", "yes")
    return text


def holdout_rows(csv_path: Path, columns: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Up to MAX_ROWS real rows, typed as the service's input schema says."""
    rows = []
    with csv_path.open(newline="", encoding="utf-8") as handle:
        for record in csv.DictReader(handle):
            rows.append(
                {
                    c["name"]: _value(record[c["name"]], c["type"], bool(c.get("nullable")))
                    for c in columns
                }
            )
            if len(rows) == MAX_ROWS:
                break
    if not rows:
        raise BenchError(f"{csv_path} has no rows")
    return rows


def bento_body(row: dict[str, Any]) -> bytes:
    return json.dumps({"rows": [row]}).encode()


def mlflow_body(row: dict[str, Any]) -> bytes:
    split = {"columns": list(row), "data": [list(row.values())]}
    return json.dumps({"dataframe_split": split}).encode()


def _post(url: str, body: bytes) -> Any:
    request = urllib.request.Request(
        url, data=body, headers={"Content-Type": "application/json"}, method="POST"
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def _last(value: Any) -> float:
    """The positive-class probability (or the prediction) of a one-row answer."""
    while isinstance(value, dict):
        value = value["predictions"]
    while isinstance(value, list):
        value = value[-1] if not isinstance(value[0], list) else value[0]
    return float(value)


def same_predictions(bento: Server, mlflow: Server, rows: list[dict[str, Any]]) -> float:
    """Both servers answer every row alike (one row per request); the largest difference."""
    worst = 0.0
    for row in rows:
        ours = _last(_post(bento.predict_url, bento_body(row)))
        theirs = _last(_post(mlflow.predict_url, mlflow_body(row)))
        worst = max(worst, abs(ours - theirs))
        if not math.isclose(ours, theirs, rel_tol=1e-9, abs_tol=1e-12):
            raise BenchError(f"different predictions for {row}: bentoml {ours}, mlflow {theirs}")
    return worst


# --- load ------------------------------------------------------------------------------------


def wrk(url: str, bodies: Path | None, args: argparse.Namespace, seconds: float) -> Run:
    argv = [
        "wrk",
        f"-t{args.threads}",
        f"-c{args.connections}",
        f"-d{max(1, round(seconds))}s",
        "--timeout",
        "10s",
        "--latency",
        "-s",
        str(LUA),
        url,
    ]
    if bodies is not None:
        argv += ["--", str(bodies)]
    result = subprocess.run(argv, capture_output=True, text=True)
    match = SUMMARY.search(result.stdout)
    if result.returncode != 0 or match is None:
        raise BenchError(f"wrk failed ({' '.join(argv)}):\n{result.stdout}{result.stderr}")
    got = {k: float(v) for k, v in (pair.split("=") for pair in match[1].split())}
    return Run(
        rps=got["requests"] / (got["duration_us"] / 1e6),
        p50=got["p50"] / 1000,
        p90=got["p90"] / 1000,
        p95=got["p95"] / 1000,
        p99=got["p99"] / 1000,
        non2xx=int(got["non2xx"]),
        errors=int(got["connect"] + got["read"] + got["write"] + got["timeout"]),
        requests=int(got["requests"]),
    )


def _show(name: str, run: Run) -> None:
    print(
        f"  {name:<8} {run.rps:9.1f} req/s  p50 {run.p50:7.1f}  p95 {run.p95:7.1f}  "
        f"p99 {run.p99:7.1f} ms  non-2xx {run.non2xx}  errors {run.errors}",
        flush=True,
    )


@contextmanager
def nginx(workdir: Path) -> Iterator[str | None]:
    """A trivial local endpoint (nginx `return 200`) to measure wrk's own capacity; None when
    nginx is not installed."""
    binary = shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if Path(p).exists()), None
    )
    if binary is None:
        yield None
        return
    port = _free_port()
    prefix = workdir / "nginx"
    prefix.mkdir()
    temps = "\n".join(
        f"  {kind}_temp_path {prefix / kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    conf = prefix / "nginx.conf"
    conf.write_text(
        f"""daemon off;
worker_processes 1;
pid {prefix / "nginx.pid"};
error_log {prefix / "error.log"} warn;
events {{ worker_connections 1024; }}
http {{
  access_log off;
{temps}
  server {{
    listen 127.0.0.1:{port};
    location / {{ default_type application/json; return 200 "[0.5]"; }}
  }}
}}
""",
        encoding="utf-8",
    )
    server = Server(
        "nginx",
        [binary, "-p", str(prefix), "-c", str(conf)],
        dict(os.environ),
        f"http://127.0.0.1:{port}/",
        f"http://127.0.0.1:{port}/predict",
        Path(),
        prefix / "stdout.log",
    )
    with running([server]):
        yield server.predict_url


# --- main ------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--spec", type=Path, default=ROOT / "specs" / "credit-risk.yaml")
    parser.add_argument("--rounds", type=int, default=3, help="rounds per server (>= 1)")
    parser.add_argument("--duration", type=float, default=15, help="seconds per measurement")
    parser.add_argument("--warmup", type=float, default=3, help="seconds before each one")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument(
        "--mlflow-workers", type=int, default=None, help="default: the spec's service.workers"
    )
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        print(WRK_MISSING, file=sys.stderr)
        return 2
    try:
        return bench(args)
    except BenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except (KeyboardInterrupt, Interrupted):
        print("interrupted: servers stopped", file=sys.stderr)
        return 130


def bench(args: argparse.Namespace) -> int:
    spec_path = args.spec.resolve()
    spec = yaml.safe_load(spec_path.read_text(encoding="utf-8"))
    print(f"build: {spec_path.relative_to(ROOT)}", flush=True)
    tag, bento_path = build(spec_path)
    config = json.loads((bento_path / "src" / "shipyard.json").read_text(encoding="utf-8"))
    workers = int(config["workers"])
    mlflow_workers = args.mlflow_workers or workers
    rows = holdout_rows(ROOT / spec["data"]["evaluation"]["path"], config["columns"])

    with tempfile.TemporaryDirectory(prefix="shipyard-bench-") as tmp:
        work = Path(tmp)
        (work / "bentoml.bodies").write_bytes(b"\n".join(bento_body(r) for r in rows) + b"\n")
        (work / "mlflow.bodies").write_bytes(b"\n".join(mlflow_body(r) for r in rows) + b"\n")
        base = {
            **os.environ,
            "PATH": os.pathsep.join([str(BIN), os.environ.get("PATH", "")]),
            "BENTOML_HOME": str(STATE / "bentoml"),
            "BENTOML_DO_NOT_TRACK": "true",
            "MLFLOW_TRACKING_URI": f"sqlite:///{STATE / 'mlflow.db'}",
        }
        port, mport = _free_port(), _free_port()
        bento = Server(
            "bentoml",
            [str(BIN / "bentoml"), "serve", tag, "--host", "127.0.0.1", "--port", str(port)],
            {**base, "SHIPYARD_PREDICTION_LOG_DIR": str(work / "predictions")},
            f"http://127.0.0.1:{port}/readyz",
            f"http://127.0.0.1:{port}/{config['api']}",
            work / "bentoml.bodies",
            work / "bentoml.log",
        )
        mlflow_flags = ["--env-manager", "local", "--host", "127.0.0.1", "--port", str(mport)]
        mlflow_flags += ["--workers", str(mlflow_workers)]
        mlflow = Server(
            "mlflow",
            [str(BIN / "mlflow"), "models", "serve", "-m", spec["model"]["uri"], *mlflow_flags],
            base,
            f"http://127.0.0.1:{mport}/ping",
            f"http://127.0.0.1:{mport}/invocations",
            work / "mlflow.bodies",
            work / "mlflow.log",
        )
        print(
            f"workers: bentoml {workers} (spec service.workers), mlflow {mlflow_workers} "
            f"(--workers; its default is 1) -> "
            + ("same number of worker processes" if workers == mlflow_workers else "NOT equal"),
            flush=True,
        )
        print(
            f"load: wrk -t{args.threads} -c{args.connections}, {args.warmup:g} s warm-up + "
            f"{args.duration:g} s, {args.rounds} rounds alternating, one row per request "
            f"({len(rows)} holdout rows rotating); batching {config['max_batch_size']} rows / "
            f"{config['max_latency_ms']} ms; cores: {len(os.sched_getaffinity(0))}",
            flush=True,
        )
        results = Results({"bentoml": [], "mlflow": []})
        with running([bento, mlflow]):
            print(
                f"ready: bentoml {bento.ready_s:.2f} s, mlflow {mlflow.ready_s:.2f} s "
                "(process start to /readyz, /ping)",
                flush=True,
            )
            worst = same_predictions(bento, mlflow, rows)
            print(f"check: same predictions for {len(rows)} rows (max diff {worst:.1e})")
            for round_ in range(args.rounds):
                print(f"round {round_ + 1}/{args.rounds}", flush=True)
                order = [bento, mlflow] if round_ % 2 == 0 else [mlflow, bento]
                for server in order:
                    wrk(server.predict_url, server.bodies, args, args.warmup)
                    run = wrk(server.predict_url, server.bodies, args, args.duration)
                    results.runs[server.name].append(run)
                    _show(server.name, run)
            logged = sum(
                len(p.read_bytes().splitlines()) for p in (work / "predictions").glob("*.jsonl")
            )
        print("capacity: wrk against a trivial endpoint, same script and settings", flush=True)
        with nginx(work) as url:
            if url is None:
                capacity = math.nan
                print("  nginx not installed: capacity not measured (apt-get install nginx)")
            else:
                capacity = wrk(url, work / "bentoml.bodies", args, args.duration).rps
    report(results, bento, mlflow, capacity, logged)
    return 0 if goal_met(results) else 1


def goal_met(results: Results) -> bool:
    bad = sum(results.total(n, "non2xx") + results.total(n, "errors") for n in results.runs)
    return (
        bad == 0
        and results.median("bentoml", "rps") >= 2 * results.median("mlflow", "rps")
        and results.median("bentoml", "p95") <= results.median("mlflow", "p95")
    )


def report(results: Results, bento: Server, mlflow: Server, capacity: float, logged: int) -> None:
    def row(label: str, ours: float, theirs: float, fmt: str, ratio: bool = True) -> str:
        text = f"{label:<24} {ours:>12{fmt}} {theirs:>12{fmt}}"
        return text + (f" {ours / theirs:>10.2f}x" if ratio and theirs else "")

    med = results.median
    rounds = len(results.runs["bentoml"])
    print()
    head = f"median of {rounds} rounds"
    print(f"{head:<24} {'bentoml':>12} {'mlflow':>12} {'bento/mlf':>11}")
    print(row("throughput (req/s)", med("bentoml", "rps"), med("mlflow", "rps"), ".1f"))
    for q in ("p50", "p90", "p95", "p99"):
        print(row(f"latency {q} (ms)", med("bentoml", q), med("mlflow", q), ".1f"))
    for attr, label in (("non2xx", "non-2xx responses"), ("errors", "socket errors")):
        ours, theirs = results.total("bentoml", attr), results.total("mlflow", attr)
        print(row(label, ours, theirs, "d", ratio=False))
    print(row("start to ready (s)", bento.ready_s, mlflow.ready_s, ".2f"))
    for name in ("bentoml", "mlflow"):
        each = ", ".join(f"{r.rps:.0f}" for r in results.runs[name])
        print(f"  {name} req/s per round: {each}")
    served = sum(r.requests for r in results.runs["bentoml"])
    print(f"  bentoml prediction log: {logged} lines (>= {served} measured requests)")
    best = max(r.rps for runs in results.runs.values() for r in runs)
    print(
        f"wrk capacity (nginx return 200, same script): {capacity:.0f} req/s = "
        f"{capacity / best:.1f}x the fastest server round ({best:.0f} req/s)"
    )
    verdict = "met" if goal_met(results) else "missed"
    print(f"goal: >= 2x throughput with p95 no worse — {verdict}")


if __name__ == "__main__":
    sys.exit(main())
