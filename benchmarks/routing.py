"""nginx in front of a slot vs straight to its server, and how fast a weight change takes effect.

    .venv/bin/python benchmarks/routing.py [--rounds 5] [--duration 10] [--changes 20]
                                           [--connections 32] [--no-calibrate]

Setup (not timed): `build_bento` on the demo spec (`specs/credit-risk.yaml`; an identical
build is reused), then a `LocalTarget` (via `target_kind("local")`) with its state in a temp
dir, the demo's BentoML store, and a unique environment name whose three ports are free; the
Bento is deployed as stable and, for the weight changes, as canary. The target is destroyed at
the end, also on errors, Ctrl-C and SIGTERM.

1. Throughput and latency: wrk (`benchmarks/routing.lua`, POSTing one valid demo row to
   /predict, same threads and connections) straight at the stable server's port vs through
   nginx's listen port with weights stable=100. Warm-up of each path; with --calibrate (the
   default) the connections are halved until the warm-up gets no non-2xx answer (the demo
   service sheds load with 503 once BentoML's batch latency estimate exceeds its
   max_latency_ms). Then ROUNDS rounds of DURATION seconds per path, alternating which goes
   first. Reported: median requests/s and the medians of per-round p50/p95/p99, the ratio
   nginx/direct (of the medians, and the median of per-round ratios) and the throughput loss.
   Every response must be 2xx, and through nginx every one must carry X-Shipyard-Upstream
   naming the stable server. CPU per request of wrk, nginx and the stable server's process
   tree, and the host's busy share (other load on the host shows there), are shown too.
2. Weight changes: CHANGES calls to `set_weights`, flipping between stable=100 and canary=100
   (same Bento in both). Per call: its duration, and two outside observers started before
   the call, on a fresh connection per probe: one polling nginx's /__shipyard/config for the
   new digest, one sending GET /livez (answered by the slot) until X-Shipyard-Upstream names
   the newly weighted slot. Each reports when it saw the first new answer and from when it
   saw only new answers (a run of at least TAIL answers over HOLD seconds: after a graceful
   reload the old worker keeps accepting connections for a while). Times are taken when the
   answer arrives (an upper bound). "Effective" is the later "only new" of the two.
3. Graceful reload alone: the next config written and checked untimed (as set_weights does),
   then `nginx -s reload` with the digest observer; with the other steps of set_weights
   (finding nginx, render + `nginx -t` + write) timed for a breakdown.

Goals (routing issue): a weight change in effect in under 0.3 s; throughput loss under 5%.
The throughput verdict is "inconclusive" when either path's rounds vary by more than 10%
(coefficient of variation): on a shared host other load swamps a few percent; the CPU-per-
request estimate is printed beside it. Exit status 0 when both goals are met, else 2 (1 when
the run failed).
"""

from __future__ import annotations

import argparse
import csv
import http.client
import json
import math
import os
import re
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from types import FrameType
from typing import Any

from pipelines.build.bento import build_bento
from pipelines.core.specs import load_spec
from pipelines.core.workspace import Workspace
from stacks.local import nginx
from stacks.local import supervisor as sv
from stacks.local.config import LocalTargetConfig
from stacks.local.host import find_nginx
from stacks.local.providers.bento_server import port_free
from stacks.registry import target_kind
from stacks.target import Release, Slot, Target
from validators.spec.model import ModelDeployment
from validators.spec.resolved import with_defaults

REPO = Path(__file__).resolve().parent.parent
SPEC_FILE = REPO / "specs" / "credit-risk.yaml"
HOLDOUT = REPO / "data" / "credit" / "holdout.csv"
LUA = Path(__file__).with_name("routing.lua")
GOAL_EFFECTIVE_S = 0.3
GOAL_LOSS_PCT = 5.0
MAX_NOISE_PCT = 10.0  # rounds varying more than this (CV) make the throughput verdict moot
POLL_SLEEP_S = 0.002
POLL_TIMEOUT_S = 30.0
PROBE_PATH = "/livez"  # BentoML's liveness endpoint, answered by the slot behind nginx
CLK_TCK = os.sysconf("SC_CLK_TCK")
PYTYPES: dict[str, Callable[[str], Any]] = {
    "long": int,
    "integer": int,
    "double": float,
    "float": float,
    "string": str,
    "boolean": lambda v: v.strip().lower() in ("1", "true"),
}
SPLITS: tuple[dict[Slot, int], dict[Slot, int]] = (
    {Slot.STABLE: 0, Slot.CANARY: 100},
    {Slot.STABLE: 100, Slot.CANARY: 0},
)


def say(message: str) -> None:
    print(f"setup:  {message}", file=sys.stderr, flush=True)


# --- setup ------------------------------------------------------------------------------


def demo_body(bento_path: Path, holdout: Path = HOLDOUT) -> tuple[str, str]:
    """The API route and a JSON body with the first holdout row, typed as the Bento expects."""
    config = json.loads((bento_path / "src" / "shipyard.json").read_text(encoding="utf-8"))
    with holdout.open(encoding="utf-8", newline="") as handle:
        row = next(csv.DictReader(handle))
    typed = {c["name"]: PYTYPES[c["type"]](row[c["name"]]) for c in config["columns"]}
    return f"/{config['api']}", json.dumps({"rows": [typed]})


def free_environment(spec: str) -> str:
    """A fresh environment name whose nginx, stable and canary ports are all free."""
    for n in range(100):
        name = f"bench-routing-{os.getpid()}-{n}"
        probe = LocalTargetConfig(spec, name, Path("/nonexistent"), Path("/nonexistent"))
        ports = [probe.listen_port, probe.slot_port("stable"), probe.slot_port("canary")]
        if all(port_free(p) for p in ports):
            return name
    raise RuntimeError("no environment name with free ports found")


def bench_target(
    spec: ModelDeployment, ws: Workspace, tmp: Path
) -> tuple[Target, LocalTargetConfig]:
    """A local target for `spec` in an environment of its own whose ports are free, its state
    under `tmp`, the Bentos from `ws`'s store."""
    config = LocalTargetConfig(
        spec=spec.metadata.name,
        environment=free_environment(spec.metadata.name),
        state_dir=tmp / "state",
        bentoml_home=ws.bentoml_home,
        max_body=with_defaults(spec).service.max_request_bytes,
    )
    return target_kind("local").factory(config), config


@contextmanager
def terminate_as_interrupt() -> Iterator[None]:
    """SIGTERM behaves like Ctrl-C, so the `finally` that destroys the target runs."""

    def handler(_signum: int, _frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


# --- CPU accounting ---------------------------------------------------------------------


def _stat_fields(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text.rsplit(")", 1)[1].split()  # fields from 3 (state) on


def process_tree(root: int) -> list[int]:
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            fields = _stat_fields(int(entry.name))
            if fields:
                parents.setdefault(int(fields[1]), []).append(int(entry.name))
    tree, todo = [], [root]
    while todo:
        pid = todo.pop()
        tree.append(pid)
        todo += parents.get(pid, [])
    return tree


def tree_cpu_s(root: int | None) -> float:
    """CPU seconds (user + system) used so far by `root` and its live descendants."""
    if root is None:
        return 0.0
    total = 0
    for pid in process_tree(root):
        fields = _stat_fields(pid)
        if fields:
            total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / CLK_TCK


def host_cpu() -> tuple[int, int]:
    """(busy, total) jiffies of the whole host so far."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    total = sum(values[:8])
    return total - values[3] - values[4], total


def children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


# --- wrk --------------------------------------------------------------------------------


@dataclass
class WrkRun:
    mode: str
    values: dict[str, float]
    cpu_us: dict[str, float] = field(default_factory=dict)  # per request
    host_busy: float = 0.0

    @property
    def rps(self) -> float:
        return self.values["requests"] / (self.values["duration_us"] / 1e6)

    @property
    def errors(self) -> int:
        keys = ("connect", "read", "write", "timeout")
        return int(sum(self.values[k] for k in keys))


@dataclass(frozen=True)
class Load:
    threads: int
    connections: int
    body_file: Path


def run_wrk(
    mode: str,
    url: str,
    load: Load,
    duration: float,
    upstream: str = "",
    watch: dict[str, int | None] | None = None,
) -> WrkRun:
    argv = [
        "wrk",
        f"-t{load.threads}",
        f"-c{load.connections}",
        f"-d{max(1, round(duration))}s",
        "--timeout",
        "10s",
        "-s",
        str(LUA),
        url,
        "--",
        str(load.body_file),
        upstream,
    ]
    watch = watch or {}
    before = {name: tree_cpu_s(pid) for name, pid in watch.items()}
    wrk_before, host_before = children_cpu_s(), host_cpu()
    out = subprocess.run(argv, capture_output=True, text=True, check=True).stdout
    wrk_cpu, host_after = children_cpu_s() - wrk_before, host_cpu()
    after = {name: tree_cpu_s(pid) for name, pid in watch.items()}
    line = next((x for x in out.splitlines() if x.startswith("SHIPYARD ")), None)
    if line is None:
        raise RuntimeError(f"wrk printed no summary:\n{out}")
    values = {k: float(v) for k, v in re.findall(r"(\w+)=([0-9.]+)", line)}
    run = WrkRun(mode, values)
    requests = max(values["requests"], 1.0)
    run.cpu_us = {"wrk": wrk_cpu / requests * 1e6}
    run.cpu_us |= {name: (after[name] - before[name]) / requests * 1e6 for name in watch}
    busy, total = host_after[0] - host_before[0], host_after[1] - host_before[1]
    run.host_busy = busy / total if total else 0.0
    return run


def check_run(run: WrkRun, through_nginx: bool) -> list[str]:
    v = run.values
    problems = []
    if v["non2xx"]:
        problems.append(f"{int(v['non2xx'])} non-2xx")
    if run.errors:
        problems.append(f"{run.errors} socket errors/timeouts")
    if through_nginx and (v["other"] or v["noheader"]):
        problems.append(f"{int(v['other'] + v['noheader'])} not answered by the stable slot")
    if not through_nginx and v["noheader"] != v["requests"]:
        problems.append("direct responses carried X-Shipyard-Upstream")
    return [f"{run.mode}: {p}" for p in problems]


# --- outside observers ------------------------------------------------------------------


def fresh_request(port: int, method: str, path: str, body: str | None) -> tuple[int, str, str]:
    """(status, X-Shipyard-Upstream, body) of one request on a new connection."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        headers = {"Content-Type": "application/json"} if body is not None else {}
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        text = response.read().decode()
        return response.status, response.getheader(nginx.UPSTREAM_HEADER) or "", text.strip()
    finally:
        conn.close()


class Poller(threading.Thread):
    """Polls nginx on fresh connections until every answer shows the new state for at least
    TAIL probes and HOLD seconds (old workers keep accepting for a while after a reload).
    `first` is when the first new answer arrived, `seen` when the final run of new answers
    began (the change is in effect from then on), `stragglers` counts old answers after the
    first new one."""

    def __init__(self, port: int, tail: int, hold: float) -> None:
        super().__init__(daemon=True)
        self.port, self.tail, self.hold = port, tail, hold
        self.first: float | None = None
        self.seen: float | None = None
        self.stragglers = 0
        self.non2xx = 0
        self.error: str | None = None
        self.stop = threading.Event()
        self.rtts: list[float] = []  # seconds per probe: the observer's resolution
        self._run_start: float | None = None
        self._run = 0

    def run(self) -> None:
        deadline = time.perf_counter() + POLL_TIMEOUT_S
        try:
            while not self.stop.is_set() and time.perf_counter() < deadline:
                started = time.perf_counter()
                is_new = self.probe()
                now = time.perf_counter()
                self.rtts.append(now - started)
                if self.observe(is_new, now):
                    return
                time.sleep(POLL_SLEEP_S)
            self.error = "timed out"
        except (OSError, http.client.HTTPException) as exc:
            self.error = f"{type(exc).__name__}: {exc}"

    def observe(self, is_new: bool, now: float) -> bool:
        if not is_new:
            if self.first is not None:
                self.stragglers += 1
            self._run_start, self._run = None, 0
            return False
        if self.first is None:
            self.first = now
        if self._run_start is None:
            self._run_start = now
        self._run += 1
        if self._run >= self.tail and now - self._run_start >= self.hold:
            self.seen = self._run_start
            return True
        return False

    def probe(self) -> bool:
        """One request; True when the answer shows the new state."""
        raise NotImplementedError


class DigestPoller(Poller):
    """GETs /__shipyard/config (answered by nginx itself) until it serves `digest`."""

    def __init__(self, port: int, digest: str, tail: int, hold: float) -> None:
        super().__init__(port, tail, hold)
        self.digest = digest

    def probe(self) -> bool:
        status, _, served = fresh_request(self.port, "GET", nginx.CONFIG_PATH, None)
        self.non2xx += not 200 <= status <= 299
        return served == self.digest


class UpstreamPoller(Poller):
    """GETs PROBE_PATH through nginx until X-Shipyard-Upstream names `upstream` (routing
    does not depend on the request; a cheap one keeps the resolution fine)."""

    def __init__(self, port: int, upstream: str, tail: int, hold: float) -> None:
        super().__init__(port, tail, hold)
        self.upstream = upstream

    def probe(self) -> bool:
        status, upstream, _ = fresh_request(self.port, "GET", PROBE_PATH, None)
        self.non2xx += not 200 <= status <= 299
        return upstream == self.upstream


@dataclass(frozen=True)
class Observed:
    """What one poller saw, in seconds from the start of the change."""

    first_s: float | None
    settled_s: float | None
    stragglers: int
    non2xx: int
    error: str | None

    @classmethod
    def of(cls, poller: Poller, started: float) -> Observed:
        return cls(
            None if poller.first is None else poller.first - started,
            None if poller.seen is None else poller.seen - started,
            poller.stragglers,
            poller.non2xx,
            poller.error,
        )


def observe(pollers: Sequence[Poller], change: Callable[[], object]) -> tuple[float, float]:
    """Start the pollers, run `change`; (start, seconds the call took), pollers joined."""
    for poller in pollers:
        poller.start()
    started = time.perf_counter()
    try:
        change()
    finally:
        call = time.perf_counter() - started
        for poller in pollers:
            poller.join(POLL_TIMEOUT_S + 5)
            poller.stop.set()
    return started, call


# --- the phases -------------------------------------------------------------------------


@dataclass
class Env:
    target: Target
    config: LocalTargetConfig
    route: str
    body: str
    load: Load

    @property
    def prefix(self) -> str:
        return str(self.config.base_dir / "nginx")

    def upstream(self, slot: Slot) -> str:
        return f"127.0.0.1:{self.config.slot_port(slot.value)}"

    def upstreams(self, weights: dict[Slot, int]) -> dict[str, dict[str, int]]:
        return {
            s.value: {"port": self.config.slot_port(s.value), "weight": w}
            for s, w in weights.items()
        }

    def digest(self, weights: dict[Slot, int]) -> str:
        return nginx.digest(self.config.listen_port, self.upstreams(weights), self.config.max_body)

    def pid(self, program: str) -> int | None:
        info = sv.process_info(str(self.config.base_dir / "supervisor"), program) or {}
        pid = int(info.get("pid") or 0)
        return pid or None


def throughput(
    env: Env, rounds: int, duration: float, warmup: float, calibrate: bool
) -> tuple[list[WrkRun], list[str]]:
    """Warm-up (with calibration: halving the connections until neither path gets a non-2xx
    answer), then the alternating rounds; the runs and what calibration found."""
    direct = f"http://127.0.0.1:{env.config.slot_port('stable')}{env.route}"
    routed = f"http://127.0.0.1:{env.config.listen_port}{env.route}"
    watch = {"nginx": env.pid("nginx"), "stable": env.pid("bento-stable")}
    stable = env.upstream(Slot.STABLE)
    modes: dict[str, Callable[[float], WrkRun]] = {
        "direct": lambda d: run_wrk("direct", direct, env.load, d, watch=watch),
        "nginx": lambda d: run_wrk("nginx", routed, env.load, d, stable, watch),
    }
    notes: list[str] = []
    while True:
        say(f"warm-up: {warmup:.0f} s each path, {env.load.connections} connections")
        bad = [m(warmup) for m in modes.values()]
        shed = sum(int(r.values["non2xx"]) + r.errors for r in bad)
        total = sum(int(r.values["requests"]) for r in bad)
        if not shed or not calibrate or env.load.connections == 1:
            break
        notes.append(f"{env.load.connections} connections: {shed} of {total} not 2xx")
        fewer = env.load.connections // 2
        env.load = Load(min(env.load.threads, fewer), fewer, env.load.body_file)
    runs: list[WrkRun] = []
    for i in range(rounds):
        order = ["direct", "nginx"] if i % 2 == 0 else ["nginx", "direct"]
        for mode in order:
            result = modes[mode](duration)
            runs.append(result)
            say(
                f"round {i + 1}/{rounds} {mode:<6} {result.rps:8.1f} req/s  "
                f"p95 {result.values['p95'] / 1000:6.2f} ms  non2xx {int(result.values['non2xx'])}"
            )
    return runs, notes


@dataclass(frozen=True)
class Change:
    call_s: float
    digest: Observed
    upstream: Observed

    @property
    def effective_s(self) -> float | None:
        if self.digest.settled_s is None or self.upstream.settled_s is None:
            return None
        return max(self.digest.settled_s, self.upstream.settled_s)


def weight_changes(
    env: Env, changes: int, pause: float, tail: int, hold: float
) -> tuple[list[Change], list[float]]:
    """The changes, and the observers' probe round trips (their resolution)."""
    port = env.config.listen_port
    results: list[Change] = []
    rtts: list[float] = []
    for i in range(changes):
        weights = SPLITS[i % 2]
        new_slot = max(weights, key=lambda s: weights[s])
        digest = DigestPoller(port, env.digest(weights), tail, hold)
        routed = UpstreamPoller(port, env.upstream(new_slot), tail, hold)
        started, call = observe([digest, routed], partial(env.target.set_weights, weights))
        rtts += digest.rtts + routed.rtts
        last = Change(call, Observed.of(digest, started), Observed.of(routed, started))
        results.append(last)
        say(
            f"change {i + 1}/{changes} -> {new_slot.value}=100: call {last.call_s:.3f} s, "
            f"digest {_s(last.digest.first_s)}..{_s(last.digest.settled_s)}, "
            f"upstream {_s(last.upstream.first_s)}..{_s(last.upstream.settled_s)}"
        )
        time.sleep(pause)
    return results, rtts


@dataclass(frozen=True)
class Reload:
    find_nginx_s: float
    write_s: float  # render + `nginx -t` + atomic replace
    command_s: float  # `nginx -s reload` until it returns
    digest: Observed  # from the start of `nginx -s reload`


def reloads(env: Env, count: int, pause: float, tail: int, hold: float) -> list[Reload]:
    """Graceful reloads alone: the next config written untimed, then `nginx -s reload` with a
    digest observer; the other steps of set_weights are timed on the side."""
    port = env.config.listen_port
    results: list[Reload] = []
    for i in range(count):
        weights = SPLITS[i % 2]
        started = time.perf_counter()
        binary = str(find_nginx().path)
        found = time.perf_counter()
        text = nginx.render(env.prefix, port, env.upstreams(weights), env.config.max_body)
        nginx.write(env.prefix, text, binary)
        written = time.perf_counter()
        poller = DigestPoller(port, env.digest(weights), tail, hold)
        begun, command = observe([poller], partial(nginx.reload, env.prefix, binary))
        results.append(
            Reload(found - started, written - found, command, Observed.of(poller, begun))
        )
        time.sleep(pause)
    return results


# --- report -----------------------------------------------------------------------------


def _s(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f} s"


def pct(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100)."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), math.ceil(q / 100 * len(ordered))))
    return ordered[rank - 1]


@dataclass(frozen=True)
class Throughput:
    loss_pct: float  # from the ratio of the median requests/s
    noise_pct: float  # the larger coefficient of variation of the two paths' rounds
    estimate_pct: float | None  # from CPU per request, for a CPU-bound host


def report_throughput(
    runs: list[WrkRun], load: Load, duration: float, notes: list[str]
) -> Throughput:
    print(
        f"\n1. throughput and latency  (wrk -t{load.threads} -c{load.connections}, "
        f"{duration:.0f} s rounds, POST one demo row)"
    )
    if notes:
        print(
            "calibration (the server sheds load with 503 when its batch latency estimate "
            f"exceeds max_latency_ms): {'; '.join(notes)}; so {load.connections} connections"
        )
    head = (
        f"{'path':<8} {'rounds':>6} {'req/s med':>10} {'min':>8} {'max':>8} "
        f"{'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7} {'non2xx':>6} {'errors':>6}  "
        f"{'CPU us/req wrk/nginx/server':>27} {'host busy':>9}"
    )
    print(head)
    medians: dict[str, dict[str, float]] = {}
    for mode in ("direct", "nginx"):
        mine = [r for r in runs if r.mode == mode]
        rps = [r.rps for r in mine]
        m = {k: statistics.median(r.values[k] for r in mine) / 1000 for k in ("p50", "p95", "p99")}
        m["rps"] = statistics.median(rps)
        medians[mode] = m
        cpu = "/".join(
            f"{statistics.median(r.cpu_us.get(k, 0.0) for r in mine):.0f}"
            for k in ("wrk", "nginx", "stable")
        )
        busy = statistics.median(r.host_busy for r in mine)
        print(
            f"{mode:<8} {len(mine):>6} {m['rps']:>10.1f} {min(rps):>8.1f} {max(rps):>8.1f} "
            f"{m['p50']:>7.2f} {m['p95']:>7.2f} {m['p99']:>7.2f} "
            f"{sum(int(r.values['non2xx']) for r in mine):>6} {sum(r.errors for r in mine):>6}  "
            f"{cpu:>27} {busy:>9.0%}"
        )
    direct, routed = medians["direct"], medians["nginx"]
    ratio = routed["rps"] / direct["rps"]
    pairs = zip(
        [r for r in runs if r.mode == "nginx"], [r for r in runs if r.mode == "direct"], strict=True
    )
    paired = statistics.median(n.rps / d.rps for n, d in pairs)
    print(
        f"nginx/direct: {ratio:.3f} (median of per-round ratios {paired:.3f}); "
        f"throughput loss {(1 - ratio) * 100:.1f}%; p95 {routed['p95'] - direct['p95']:+.2f} ms, "
        f"p99 {routed['p99'] - direct['p99']:+.2f} ms"
    )
    proxy = statistics.median(r.cpu_us.get("nginx", 0.0) for r in runs if r.mode == "nginx")
    server = statistics.median(r.cpu_us.get("stable", 0.0) for r in runs if r.mode == "direct")
    estimate = proxy / (server + proxy) * 100 if server else None
    if server:
        print(
            f"nginx CPU per request {proxy:.0f} us vs the server's {server:.0f} us: on a CPU-bound "
            f"host, expect a loss of about {proxy / (server + proxy) * 100:.1f}%"
        )
    busy = statistics.median(r.host_busy for r in runs)
    if busy > 0.9:
        print(
            f"note: the host was {busy:.0%} busy during the rounds (wrk, nginx, the servers and "
            "any other load on it); spread between rounds is noise from that"
        )
    noise = max(
        statistics.stdev(rps) / statistics.mean(rps) * 100
        for rps in ([r.rps for r in runs if r.mode == m] for m in ("direct", "nginx"))
    )
    return Throughput((1 - ratio) * 100, noise, estimate)


def _stats_row(name: str, values: list[float]) -> str:
    if not values:
        return f"{name:<40} {'n/a':>8}"
    return (
        f"{name:<40} {statistics.median(values):>8.3f} {pct(values, 95):>8.3f} "
        f"{max(values):>8.3f} {min(values):>8.3f}"
    )


def report_changes(
    changes: list[Change], rtts: list[float], reload_runs: list[Reload]
) -> float | None:
    """Tables 2 and 3; the worst effective time (None when an observation is missing)."""
    print(f"\n2. weight changes  ({len(changes)} set_weights calls, stable=100 <-> canary=100)")
    print(f"{'seconds from the call':<40} {'median':>8} {'p95':>8} {'max':>8} {'min':>8}")
    print(_stats_row("set_weights() returns", [c.call_s for c in changes]))
    for label, seen in (
        ("new digest served", [c.digest for c in changes]),
        ("X-Shipyard-Upstream = new slot", [c.upstream for c in changes]),
    ):
        print(_stats_row(f"{label}: first", _known(o.first_s for o in seen)))
        print(_stats_row(f"{label}: only", _known(o.settled_s for o in seen)))
    effective = _known(c.effective_s for c in changes)
    print(_stats_row("effective (both observers: only new)", effective))
    early = [
        c.effective_s - c.call_s
        for c in changes
        if c.effective_s is not None and c.effective_s > c.call_s
    ]
    observed = [o for c in changes for o in (c.digest, c.upstream)]
    failed = [o.error for o in observed if o.error]
    non2xx = sum(o.non2xx for o in observed)
    print(
        f"old answers after the first new one: digest {sum(c.digest.stragglers for c in changes)}"
        f", upstream {sum(c.upstream.stragglers for c in changes)}; set_weights() returned "
        f"before the change was fully in effect: {len(early)} of {len(changes)}"
        + (f" (by up to {max(early) * 1000:.0f} ms)" if early else "")
    )
    print(
        f"observers: fresh connection per probe, {POLL_SLEEP_S * 1000:.0f} ms apart, times taken "
        f"at the answer; probe round trip median {statistics.median(rtts) * 1000:.1f} ms, p95 "
        f"{pct(rtts, 95) * 1000:.1f} ms; non-2xx {non2xx}; failures {len(failed)} {failed[:3]}"
    )
    print(f"\n3. graceful reload alone and the steps of set_weights  ({len(reload_runs)} reloads)")
    print(f"{'seconds':<40} {'median':>8} {'p95':>8} {'max':>8} {'min':>8}")
    print(_stats_row("find_nginx() (runs nginx -v)", [r.find_nginx_s for r in reload_runs]))
    print(_stats_row("render + nginx -t + write", [r.write_s for r in reload_runs]))
    print(_stats_row("nginx -s reload (command returns)", [r.command_s for r in reload_runs]))
    digests = [r.digest for r in reload_runs]
    print(_stats_row("reload -> new digest served: first", _known(o.first_s for o in digests)))
    print(_stats_row("reload -> new digest served: only", _known(o.settled_s for o in digests)))
    print(f"old digests after the first new one: {sum(o.stragglers for o in digests)}")
    if len(effective) < len(changes) or failed or non2xx:
        return None
    return max(effective)


def _known(values: Iterable[float | None]) -> list[float]:
    return [v for v in values if v is not None]


def destroy(target: Target, attempts: int = 3) -> bool:
    """Destroy the target, retrying (supervisord sometimes still reports a program as
    running right after stopping it); errors are printed, not raised, so they do not hide the
    benchmark's own error."""
    for attempt in range(1, attempts + 1):
        try:
            target.destroy()
            return True
        except Exception as exc:
            print(f"destroy attempt {attempt}/{attempts} failed: {exc}", file=sys.stderr)
            time.sleep(2)
    return False


# --- main -------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=5, help="timed rounds per path (>= 3)")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per wrk round")
    parser.add_argument("--warmup", type=float, default=5.0, help="seconds of warm-up per path")
    parser.add_argument("--changes", type=int, default=20, help="set_weights calls")
    parser.add_argument(
        "--connections", type=int, default=32, help="wrk connections (at most, see --calibrate)"
    )
    parser.add_argument(
        "--calibrate",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="halve the connections until the warm-up gets no non-2xx answer",
    )
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--pause", type=float, default=0.5, help="seconds between changes")
    parser.add_argument("--tail", type=int, default=10, help="new answers in a row to settle")
    parser.add_argument(
        "--hold", type=float, default=0.3, help="seconds of only new answers to settle"
    )
    args = parser.parse_args()
    if args.rounds < 3:
        parser.error("--rounds must be at least 3")
    if shutil.which("wrk") is None:
        parser.error("wrk is not installed")

    ws = Workspace.at(REPO)
    spec = load_spec(SPEC_FILE, ws.root)
    bento = build_bento(spec, SPEC_FILE, ws, say=say)
    route, body = demo_body(bento.path)
    tmp = Path(tempfile.mkdtemp(prefix="shipyard-routing-"))
    body_file = tmp / "body.json"
    body_file.write_text(body, encoding="utf-8")
    target, config = bench_target(spec, ws, tmp)
    env = Env(target, config, route, body, Load(args.threads, args.connections, body_file))
    release = Release(bento.tag, spec.model.uri)
    say(
        f"{bento.tag}; environment {config.environment}: nginx :{config.listen_port}, "
        f"stable :{config.slot_port('stable')}, canary :{config.slot_port('canary')}; "
        f"state {tmp}"
    )
    failed = True
    try:
        with terminate_as_interrupt():
            started = time.perf_counter()
            target.deploy(Slot.STABLE, release)
            target.deploy(Slot.CANARY, release)
            say(f"deployed stable and canary in {time.perf_counter() - started:.1f} s")
            status, upstream, answer = fresh_request(config.listen_port, "POST", route, body)
            if status != 200 or upstream != env.upstream(Slot.STABLE):
                raise RuntimeError(f"probe through nginx: {status} {upstream!r} {answer[:200]}")
            runs, notes = throughput(env, args.rounds, args.duration, args.warmup, args.calibrate)
            changes, rtts = weight_changes(env, args.changes, args.pause, args.tail, args.hold)
            reload_runs = reloads(env, args.changes, args.pause, args.tail, args.hold)
            target.set_weights({Slot.STABLE: 100, Slot.CANARY: 0})
            failed = False
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        say(f"destroying {config.environment}")
        if destroy(target):
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            print(f"state left in {tmp}", file=sys.stderr)
            failed = True
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
    if failed:
        return 1

    print(
        f"\nrouting benchmark  ({bento.tag}, nginx {find_nginx().version}, "
        f"{os.cpu_count()} CPUs, server workers {with_defaults(spec).service.workers})"
    )
    loss = report_throughput(runs, env.load, args.duration, notes)
    problems = [p for r in runs for p in check_run(r, r.mode == "nginx")]
    worst = report_changes(changes, rtts, reload_runs)
    print()
    for problem in problems:
        print(f"problem: {problem}")
    met_change = worst is not None and worst < GOAL_EFFECTIVE_S
    shown = "incomplete" if worst is None else f"max {worst:.3f} s"
    print(
        f"weight change effective < {GOAL_EFFECTIVE_S} s — "
        f"{'met' if met_change else 'missed'} ({shown} over {len(changes)} changes)"
    )
    met_loss = loss.loss_pct < GOAL_LOSS_PCT and not problems
    verdict = "met" if met_loss else "missed"
    if problems:
        verdict = "invalid (see the problems above)"
    elif loss.noise_pct > MAX_NOISE_PCT:
        verdict, met_loss = "inconclusive", False
    estimate = "" if loss.estimate_pct is None else f"; CPU estimate {loss.estimate_pct:.1f}%"
    print(
        f"throughput loss < {GOAL_LOSS_PCT:.0f}% — {verdict} ({loss.loss_pct:.1f}%; rounds vary "
        f"by {loss.noise_pct:.0f}% (CV), at most {MAX_NOISE_PCT:.0f}% counts{estimate})"
    )
    return 0 if met_change and met_loss else 2


if __name__ == "__main__":
    sys.exit(main())
