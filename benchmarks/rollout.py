"""Rollout figures on the local target: how fast a failing canary hands the traffic back, what
a switch costs clients, and where the time of a release goes.

    .venv/bin/python benchmarks/rollout.py [--switches 10] [--trials 3] [--rps 150]
                                           [--no-release]

Setup (not timed): a fresh project in a temp folder (`shipyard init`: the demo's data and
MLflow models), two Bentos of the demo's good model that differ only in batch size (so the
stable and canary slots run different releases), and a `LocalTarget` whose ports are free.

1. Rollback switch: stable and canary at 50/50, then what the canary's abort does on a Failed
   verdict (`set_weights` stable=100, as the canary steps abort), SWITCHES times. An outside
   observer polls through nginx on fresh connections until only the stable slot answers
   (X-Shipyard-Upstream) for 10 answers and 0.3 s in a row. Reported: the call's duration
   and when 100% stable was observed, median and max. Goal: under 0.5 s.
2. Client failures of a switch under steady load: `hey` (the serving gates' load client) at
   RPS through nginx while, TRIALS times each, the canary is promoted (`promote`: canary
   takes all traffic, the stable server restarts on its release, traffic back, canary torn
   down) and rolled back (abort: weights to stable, canary torn down). Both canary releases
   are healthy, so every failure counted is the switch's own. Once with a connection per
   request and once with keep-alive. Goal: 0 failed requests.
3. Merge to production (`--release`, the default): `shipyard apply` of the demo spec in the
   fresh project — the first release (v1, straight to staging and production), a second
   release of the same model re-registered (a new Bento: staging, then production's canary
   with the demo's steps, 10% and 50% with 30 s pauses), and the faulty model v5 (rolled back
   by the canary; the ledger's `switch_s` is the verdict-to-stable time of the real path).
   The wall time of each is broken down by stage from the ledger's timestamps.

The figures are medians and maxima of what this run measured; the 2-core host serves, loads
and observes at once, so latencies include its contention.
"""

from __future__ import annotations

import argparse
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import yaml
from routing import (
    UpstreamPoller,
    bench_target,
    demo_body,
    destroy,
    observe,
    terminate_as_interrupt,
)

from pipelines.audit.ledger import LedgerEntry, ledger_of
from pipelines.build.bento import build_bento
from pipelines.core.specs import load_spec
from pipelines.core.workspace import Workspace
from pipelines.demo.init import init_workspace
from pipelines.release.apply import apply_spec
from pipelines.release.context import ApplyOptions
from stacks.local.config import LocalTargetConfig
from stacks.reach.http import hey_command, parse_hey
from stacks.target import Release, Slot, Target

REPO = Path(__file__).resolve().parent.parent
SPEC = REPO / "specs" / "credit-risk.yaml"
SUITE = "validators/suites/credit.yaml"
GOAL_SWITCH_S = 0.5
REVIEWER = "@risk-ml"
TRAFFIC_RPS = 60.0  # synthetic traffic during canaries, as the demo sends
SETTLE_S = 3.0  # seconds of load before and after each switch


def say(message: str) -> None:
    print(f"setup:  {message}", file=sys.stderr, flush=True)


def project(root: Path) -> tuple[Workspace, dict[str, str]]:
    """A fresh project after `shipyard init`, with the demo spec and its suite; the demo
    variants' registered versions."""
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    for relative in ("specs/credit-risk.yaml", SUITE):
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(REPO / relative, root / relative)
    ws = Workspace.at(root)
    return ws, init_workspace(ws, say=lambda _: None).versions


def spec_variant(ws: Workspace, name: str, edit: Callable[[dict[str, object]], None]) -> Path:
    data = yaml.safe_load(SPEC.read_text(encoding="utf-8"))
    edit(data)
    path = ws.root / "variants" / f"{name}.yaml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def batch(size: int) -> Callable[[dict[str, object]], None]:
    def edit(data: dict[str, object]) -> None:
        service = data["service"]
        assert isinstance(service, dict)
        service["batching"]["max_batch_size"] = size

    return edit


# --- 1. the rollback switch -------------------------------------------------------------


def switches(target: Target, config: LocalTargetConfig, count: int) -> list[tuple[float, float]]:
    """(call seconds, observed-100%-stable seconds) of `count` aborts from 50/50."""
    stable = f"127.0.0.1:{config.slot_port('stable')}"
    found = []
    for _ in range(count):
        target.set_weights({Slot.STABLE: 50, Slot.CANARY: 50})
        time.sleep(0.5)
        poller = UpstreamPoller(config.listen_port, stable, tail=10, hold=0.3)
        started, call = observe(
            [poller], lambda: target.set_weights({Slot.STABLE: 100, Slot.CANARY: 0})
        )
        if poller.seen is None:
            raise RuntimeError(f"the observer never saw only stable answers: {poller.error}")
        found.append((call, poller.seen - started))
    return found


# --- 2. client failures of a switch under load ------------------------------------------


def under_load(
    url: str, body_file: Path, rps: float, keepalive: bool, switch: Callable[[], object]
) -> tuple[int, int, float]:
    """(requests, failed, seconds the switch took) with `hey` at `rps` around `switch`."""
    argv = hey_command(url, body_file, rps, 3600, connections=16, keepalive=keepalive)
    load = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        time.sleep(SETTLE_S)
        started = time.monotonic()
        switch()
        took = time.monotonic() - started
        time.sleep(SETTLE_S)
    finally:
        load.send_signal(signal.SIGINT)  # hey stops and prints its summary
        output, _ = load.communicate(timeout=60)
    report = parse_hey(output)
    failed = round(report.error_rate * report.requests)
    return report.requests, failed, took


def abort(target: Target) -> None:
    """What a Failed verdict does: all traffic to stable, then the canary torn down."""
    target.set_weights({Slot.STABLE: 100, Slot.CANARY: 0})
    target.teardown(Slot.CANARY)


def load_trials(
    target: Target,
    url: str,
    body_file: Path,
    releases: tuple[Release, Release],
    trials: int,
    rps: float,
) -> list[tuple[str, str, int, int, float]]:
    """(switch, connections, requests, failed, seconds) per trial; the stable slot runs
    `releases[0]` on entry and one of the two on exit."""
    rows = []
    stable, other = releases
    for keepalive in (False, True):
        mode = "keep-alive" if keepalive else "per request"
        for _ in range(trials):
            target.deploy(Slot.CANARY, other)
            target.set_weights({Slot.STABLE: 50, Slot.CANARY: 50})
            rows.append(
                (
                    "rollback",
                    mode,
                    *under_load(url, body_file, rps, keepalive, lambda: abort(target)),
                )
            )
            target.deploy(Slot.CANARY, other)
            target.set_weights({Slot.STABLE: 50, Slot.CANARY: 50})
            rows.append(
                ("promotion", mode, *under_load(url, body_file, rps, keepalive, target.promote))
            )
            stable, other = other, stable
    return rows


# --- 3. merge to production -------------------------------------------------------------

STAGES = {  # ledger kind -> the stage that ends with it
    "gates": "offline gates",
    "build": "build",
    "deploy": "deploy",
    "serving": "serving gates",
    "step": "canary steps",
    "analysis": "canary analysis",
    "promoted": "promotion",
    "rollback": "rollback",
}


def breakdown(entries: list[LedgerEntry], started: float) -> list[tuple[str, float]]:
    """Seconds per stage, from consecutive ledger timestamps (an entry closes its stage)."""
    out: dict[str, float] = {}
    previous = started
    for entry in entries:
        label = STAGES.get(entry.kind)
        if label is None:
            continue
        name = f"{entry.env}: {label}" if entry.env else label
        out[name] = out.get(name, 0.0) + entry.ts - previous
        previous = entry.ts
    return list(out.items())


def release(ws: Workspace, spec_file: Path) -> tuple[str, float, list[LedgerEntry], float]:
    """Apply `spec_file`; (outcome, wall seconds, the spec's new ledger entries, start)."""
    ledger = ledger_of(ws)
    seen = sum(1 for _ in ledger.entries())
    spec = load_spec(spec_file, ws.root)
    options = ApplyOptions(approved_by=(REVIEWER,), traffic_rps=TRAFFIC_RPS)
    started_wall, started = time.time(), time.monotonic()
    outcome = apply_spec(spec, spec_file, ws, options, lambda _: None)
    wall = time.monotonic() - started
    entries = list(ledger.entries())[seen:]
    return outcome.outcome, wall, entries, started_wall


def releases(ws: Workspace, versions: dict[str, str]) -> None:
    """Print the wall time and stage breakdown of three releases of the demo spec."""
    from validators.sources.registry import Registry

    copy = Registry(ws.mlflow_uri).register_copy("credit-risk", versions["good"])

    def model(version: str) -> Callable[[dict[str, object]], None]:
        def edit(data: dict[str, object]) -> None:
            data["model"] = {"uri": f"models:/credit-risk/{version}"}

        return edit

    runs = [
        ("first release (v1: staging, production direct)", versions["good"]),
        (f"second release (v{copy}: production canary)", copy),
        (f"faulty release (v{versions['faulty']}: canary rolls back)", versions["faulty"]),
    ]
    for title, version in runs:
        spec_file = spec_variant(ws, f"v{version}", model(version))
        say(f"applying {title}")
        outcome, wall, entries, started = release(ws, spec_file)
        print(f"\n{title}: {outcome} in {wall:.1f} s")
        for stage, seconds in breakdown(entries, started):
            print(f"  {stage:<32} {seconds:7.1f} s")
        for entry in entries:
            if entry.kind == "rollback" and entry.details.get("switch_s") is not None:
                switch_s = float(entry.details["switch_s"])
                print(f"  verdict to 100% stable (apply's own clock): {switch_s:.3f} s")
    for env in load_spec(SPEC, ws.root).environments:
        from pipelines.core.targets import target_for

        destroy(target_for(load_spec(SPEC, ws.root), env.name, ws))


# --- main -------------------------------------------------------------------------------


def summary(label: str, values: list[float]) -> str:
    return f"{label}: median {statistics.median(values):.3f} s, max {max(values):.3f} s"


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--switches", type=int, default=10, help="timed aborts from 50/50")
    parser.add_argument("--trials", type=int, default=3, help="switches under load, per kind")
    parser.add_argument("--rps", type=float, default=150.0, help="steady load during switches")
    parser.add_argument(
        "--release", action=argparse.BooleanOptionalAction, default=True, help="part 3"
    )
    args = parser.parse_args()
    if shutil.which("hey") is None:
        parser.error("hey is not installed (make setup installs it)")
    tmp = Path(tempfile.mkdtemp(prefix="shipyard-rollout-"))
    say(f"project in {tmp}")
    ws, versions = project(tmp / "project")
    built = [
        build_bento(load_spec(f, ws.root), f, ws, say)
        for f in (spec_variant(ws, "batch-64", batch(64)), spec_variant(ws, "batch-32", batch(32)))
    ]
    pair = (
        Release(built[0].tag, "models:/credit-risk/1"),
        Release(built[1].tag, "models:/credit-risk/1"),
    )
    spec = load_spec(SPEC, ws.root)
    route, body = demo_body(built[0].path, ws.root / "data" / "credit" / "holdout.csv")
    body_file = tmp / "body.json"
    body_file.write_text(body, encoding="utf-8")
    target, config = bench_target(spec, ws, tmp)
    failed = True
    try:
        with terminate_as_interrupt():
            target.deploy(Slot.STABLE, pair[0])
            target.deploy(Slot.CANARY, pair[1])
            switched = switches(target, config, args.switches)
            target.teardown(Slot.CANARY)
            url = f"http://127.0.0.1:{config.listen_port}{route}"
            trials = load_trials(target, url, body_file, pair, args.trials, args.rps)
            failed = False
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
    finally:
        if not destroy(target):
            failed = True
    if failed:
        print(f"state left in {tmp}", file=sys.stderr)
        return 1
    print(f"\nrollout benchmark (local target, {built[0].tag} / {built[1].tag})")
    calls, effective = [s[0] for s in switched], [s[1] for s in switched]
    print(f"\n1. rollback switch from 50/50, {len(switched)} times")
    print("   " + summary("set_weights call", calls))
    print("   " + summary("observed 100% stable", effective))
    met_switch = max(effective) < GOAL_SWITCH_S
    verdict = "met" if met_switch else "missed"
    print(f"   goal < {GOAL_SWITCH_S} s: {verdict} (max {max(effective):.3f} s)")
    print(f"\n2. client requests failed by the switch, hey at {args.rps:g} rps through nginx")
    print(f"   {'switch':<10} {'connections':<12} {'requests':>8} {'failed':>6} {'took':>8}")
    for kind, mode, requests, lost, took in trials:
        print(f"   {kind:<10} {mode:<12} {requests:>8} {lost:>6} {took:>7.1f}s")
    per_request = sum(t[3] for t in trials if t[1] == "per request")
    verdict = "met" if per_request == 0 else "missed"
    print(f"   goal 0 failed (connection per request): {verdict} ({per_request})")
    if args.release:
        print("\n3. merge to production, the demo spec (breakdown from the ledger)")
        releases(ws, versions)
    shutil.rmtree(tmp, ignore_errors=True)
    return 0 if met_switch and per_request == 0 else 2


if __name__ == "__main__":
    sys.exit(main())
