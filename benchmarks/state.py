"""Time the state store: ledger appends on SQLite and PostgreSQL, `audit verify` over a
large ledger, and `shipyard status` over many specs.

    .venv/bin/python benchmarks/state.py [--appends 1000] [--entries 1000000] [--specs 500]
                                         [--runs 5] [--no-postgres] [--profile] [--smoke]

- append: `Ledger.append`, one entry per transaction as apply writes them, p50/p99 in ms: on
  SQLite (the default `.shipyard/state.db`, WAL) and on a real PostgreSQL started for the run
  by tests/fakes/postgres.py (initdb, a free 127.0.0.1 port, stopped by PID) — twice: as the
  tests run it (fsync, synchronous_commit, full_page_writes off) and with PostgreSQL's own
  durable defaults, as a real server runs; each row names the settings `SHOW` reports.
- verify: ENTRIES entries of a valid chain (a generator; ~250-byte bodies) bulk-loaded with
  `store.import_ledger` and one signed checkpoint at the head (setup, not timed); then
  `Ledger.report` with the signature check, as `shipyard audit verify` runs it (in process:
  the chain is read in stretches by one worker process per CPU, up to four), and the command
  itself end to end; beside them the floors of one process: reading the rows, and hashing
  and parsing every body. Goal
  (state store issue): 1,000,000 entries under 10 s.
- status: SPECS specs with 2 `local` environments each, written from
  tests/fixtures/spec/repo/specs/minimal.yaml, and one ledger entry per environment; then
  `status_lines` (in process, warm) and `shipyard status` end to end. Nothing is deployed, so
  no health check goes over the network: the figure is spec loading, targets and the ledger.
  Goal: 500 specs under 1 s. Missed, or with --profile, the top of a cProfile of one run is
  printed.

Every figure is the median of RUNS (appends: of every append); `SHIPYARD_STATE_URL` is
ignored, each store lives in a temporary folder. `--smoke` runs tiny sizes once (the test
suite's check that the benchmark still works; its figures mean nothing).
"""

from __future__ import annotations

import argparse
import cProfile
import hashlib
import io
import json
import os
import pstats
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from pipelines.audit.checkpoint import signature_check, write_checkpoint
from pipelines.audit.ledger import GENESIS, Ledger, LedgerEntry, LedgerKind
from pipelines.build.signing import signing_key
from pipelines.state.store import LedgerRow, forget_stores, open_store

if TYPE_CHECKING:
    from tests.fakes.postgres import PostgresServer

REPO = Path(__file__).resolve().parent.parent
TEMPLATE = REPO / "tests" / "fixtures" / "spec" / "repo" / "specs" / "minimal.yaml"
SHIPYARD = str(Path(sys.executable).parent / "shipyard")
VERIFY_GOAL_S, VERIFY_GOAL_ENTRIES = 10.0, 1_000_000
STATUS_GOAL_S, STATUS_GOAL_SPECS = 1.0, 500
DURABLE = ("fsync", "synchronous_commit", "full_page_writes")  # shown per server
SMOKE = {"appends": 20, "entries": 2_000, "specs": 5, "runs": 1}


# --- ledger appends ---------------------------------------------------------------------------


def time_appends(url: str, count: int) -> list[float]:
    """Seconds of each of `count` appends to a fresh store at `url` (a few untimed first)."""
    ledger = Ledger(open_store(url))
    for i in range(5):
        ledger.append(LedgerKind.STEP, "warm-up", "production", i=i)
    samples = []
    for i in range(count):
        started = time.perf_counter()
        ledger.append(
            LedgerKind.ANALYSIS, f"model-{i % 50:03d}", "production", phase="Successful", i=i
        )
        samples.append(time.perf_counter() - started)
    return samples


@contextmanager
def postgres(durable: bool) -> Iterator[PostgresServer]:
    """A PostgreSQL server started by the tests' helper; `durable` drops the helper's
    no-durability settings (given on the server's command line, so they cannot be turned
    back on later) for the server's own defaults, for this one start."""
    from tests.fakes import postgres as pg

    saved = dict(pg.SETTINGS)
    if durable:
        pg.SETTINGS.clear()
    try:
        server = pg.start()
    finally:
        pg.SETTINGS.clear()
        pg.SETTINGS.update(saved)
    try:
        yield server
    finally:
        pg.stop(server)


def settings(server: PostgresServer) -> str:
    """The durability settings the server runs with, as `SHOW` reports them."""
    import psycopg

    with psycopg.connect(server.dsn()) as conn:
        shown = [f"{key}={conn.execute(f'SHOW {key}').fetchone()[0]}" for key in DURABLE]  # type: ignore[index]
    return ", ".join(shown)


def quantile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


# --- a large ledger ---------------------------------------------------------------------------


def chain(count: int) -> Iterator[LedgerRow]:
    """A valid chain of `count` entries, each body the canonical JSON `LedgerEntry.body`
    gives (built from a dict here: `body()` deep-copies the entry, which would double the
    setup)."""
    prev, kinds = GENESIS, ("step", "analysis", "promoted")
    dumps, sha256 = json.dumps, hashlib.sha256
    for seq in range(1, count + 1):
        spec, kind, ts = f"model-{seq % 500:03d}", kinds[seq % 3], 1_700_000_000.0 + seq
        details = {
            "model": f"models:/{spec}/{seq % 40 + 1}",
            "weights": {"canary": seq % 100, "stable": 100 - seq % 100},
            "phase": "Successful",
            "p95_ms": 12.5 + seq % 7,
        }
        fields = {"seq": seq, "ts": ts, "kind": kind, "spec": spec, "env": "production"}
        body = dumps({**fields, "details": details, "prev": prev}, sort_keys=True, default=str)
        digest = sha256(body.encode()).hexdigest()
        yield LedgerRow(seq, ts, kind, spec, "production", prev, digest, body)
        prev = digest


def canonical(row: LedgerRow) -> bool:
    """Whether a generated row's body is byte for byte what `LedgerEntry.body` makes."""
    found = json.loads(row.body)
    return LedgerEntry(**found).body() == row.body


def floors(ledger: Ledger) -> tuple[float, float]:
    """Seconds to only read the rows (`ledger_scan`), and to only hash and parse each body
    in memory: what any verify must do at least."""
    started = time.perf_counter()
    bodies = [row[-1] for row in ledger.store.ledger_scan()]  # driver rows: body is last
    read_s = time.perf_counter() - started
    started = time.perf_counter()
    for body in bodies:
        hashlib.sha256(body.encode()).hexdigest()
        json.loads(body)
    return read_s, time.perf_counter() - started


def load_ledger(root: Path, url: str, count: int) -> tuple[Ledger, float]:
    """A store at `url` holding a chain of `count` entries and a checkpoint at its head."""
    started = time.perf_counter()
    ledger = Ledger(open_store(url))
    ledger.store.import_ledger(chain(count))
    write_checkpoint(ledger, signing_key(root / "bentoml", environ={}), "benchmark")
    return ledger, time.perf_counter() - started


def time_verify(ledger: Ledger, root: Path) -> tuple[float, int]:
    """`audit verify` in process: seconds and rows read (the chain must be intact)."""
    check = signature_check(signing_key(root / "bentoml", environ={}))
    started = time.perf_counter()
    report = ledger.report(check)
    elapsed = time.perf_counter() - started
    if not report.intact:
        raise SystemExit(f"the generated chain does not verify: {report.problems[:3]}")
    return elapsed, report.count


def time_cli(root: Path, *argv: str) -> float:
    env = {**os.environ, "BENTOML_HOME": str(root / "bentoml")}
    started = time.perf_counter()
    result = subprocess.run(
        [SHIPYARD, "-C", str(root), *argv], capture_output=True, text=True, env=env
    )
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(f"shipyard {' '.join(argv)} exited {result.returncode}: {result.stderr}")
    return elapsed


# --- status over many specs -------------------------------------------------------------------


def status_project(root: Path, count: int) -> None:
    """`count` specs from the fixture, two local environments each, and one ledger entry per
    environment (the last thing status reads of it)."""
    template: dict[str, Any] = yaml.safe_load(TEMPLATE.read_text(encoding="utf-8"))
    (root / "specs").mkdir(parents=True)
    names = [f"model-{index:03d}" for index in range(count)]
    for name in names:
        spec = {
            **template,
            "metadata": {**template["metadata"], "name": name},
            "model": {**template["model"], "uri": f"models:/{name}@champion"},
            "environments": [
                {"name": "staging", "target": "local"},
                {"name": "production", "target": "local"},
            ],
        }
        text = yaml.safe_dump(spec, sort_keys=False)
        (root / "specs" / f"{name}.yaml").write_text(text, encoding="utf-8")
    store = open_store(f"sqlite:///{root / '.shipyard' / 'state.db'}")
    store.import_ledger(env_entries(names))


def env_entries(names: list[str]) -> Iterator[LedgerRow]:
    prev, seq = GENESIS, 0
    for name in names:
        for env in ("staging", "production"):
            seq += 1
            details = {"model": f"models:/{name}/1"}
            entry = LedgerEntry(seq, time.time() - 60, "promoted", name, env, details, prev)
            body = entry.body()
            digest = hashlib.sha256(body.encode()).hexdigest()
            yield LedgerRow(seq, entry.ts, entry.kind, name, env, prev, digest, body)
            prev = digest


def time_status(root: Path, count: int) -> float:
    from pipelines.audit.status import status_lines

    started = time.perf_counter()
    lines = status_lines(root)
    elapsed = time.perf_counter() - started
    if len(lines) != 1 + 2 * count or "never" in "".join(lines[1:]):
        raise SystemExit(f"status printed {len(lines)} lines, not {1 + 2 * count}: {lines[:3]}")
    return elapsed


def profile_status(root: Path, top: int = 25) -> str:
    from pipelines.audit.status import status_lines

    profiler = cProfile.Profile()
    profiler.runcall(status_lines, root)
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(top)
    return out.getvalue()


# --- the run ----------------------------------------------------------------------------------


def median_of(runs: int, once: Callable[[], float]) -> list[float]:
    return [once() for _ in range(runs)]


def seconds_row(name: str, samples: list[float], size: str) -> str:
    median = statistics.median(samples)
    return f"{name:<40} {median:10.3f} {min(samples):8.3f} {max(samples):8.3f}  {size}"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--appends", type=int, default=1000, help="timed appends per engine")
    parser.add_argument("--entries", type=int, default=1_000_000, help="ledger size to verify")
    parser.add_argument("--specs", type=int, default=500, help="specs (x 2 envs) for status")
    parser.add_argument("--runs", type=int, default=5, help="timed runs of verify and status")
    parser.add_argument("--no-postgres", action="store_true", help="SQLite only")
    parser.add_argument("--profile", action="store_true", help="cProfile one status run")
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, one run")
    args = parser.parse_args()
    if args.smoke:
        vars(args).update(SMOKE)
    os.environ.pop("SHIPYARD_STATE_URL", None)
    with tempfile.TemporaryDirectory(prefix="shipyard-bench-") as tmp:
        run(Path(tmp), args)


def run(tmp: Path, args: argparse.Namespace) -> None:
    appends: dict[str, list[float]] = {}
    appends["sqlite (WAL, synchronous=NORMAL)"] = time_appends(
        f"sqlite:///{tmp / 'appends' / 'state.db'}", args.appends
    )
    for durable in () if args.no_postgres else (False, True):
        with postgres(durable) as server:
            url = server.fresh_database("appends")
            appends[f"postgresql ({settings(server)})"] = time_appends(url, args.appends)
            forget_stores()

    project = tmp / "verify"
    ledger, loaded_s = load_ledger(
        project, f"sqlite:///{project / '.shipyard' / 'state.db'}", args.entries
    )
    verify_s, counted = [], 0
    for _ in range(args.runs):
        elapsed, counted = time_verify(ledger, project)
        verify_s.append(elapsed)
    read_s, parse_s = floors(ledger)
    verify_cli = median_of(args.runs, lambda: time_cli(project, "audit", "verify"))
    forget_stores()

    specs = tmp / "status"
    status_project(specs, args.specs)
    time_status(specs, args.specs)  # warm: imports, the target registry
    status_s = median_of(args.runs, lambda: time_status(specs, args.specs))
    status_cli = median_of(args.runs, lambda: time_cli(specs, "status"))

    print(f"{'ledger append':<72} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}  appends")
    for name, samples in appends.items():
        ms = [s * 1000 for s in samples]
        print(
            f"{name:<72} {quantile(ms, 0.5):8.2f} {quantile(ms, 0.99):8.2f} {max(ms):8.2f}  "
            f"{len(ms)}"
        )
    print()
    print(f"{'what':<40} {'median s':>10} {'min s':>8} {'max s':>8}  size (runs={args.runs})")
    print(seconds_row("(setup) load the ledger, checkpoint", [loaded_s], f"{args.entries} rows"))
    print(seconds_row("(floor) read the rows only", [read_s], f"{counted} rows"))
    print(seconds_row("(floor) sha256 + json.loads, in memory", [parse_s], f"{counted} rows"))
    print(seconds_row("audit verify: Ledger.report (in process)", verify_s, f"{counted} rows"))
    print(seconds_row("shipyard audit verify (CLI)", verify_cli, f"{counted} rows"))
    print(seconds_row("status: status_lines (in process, warm)", status_s, f"{args.specs} x 2"))
    print(seconds_row("shipyard status (CLI)", status_cli, f"{args.specs} x 2"))
    print()
    if args.smoke:
        print("smoke run: sizes too small for the goals to mean anything")
        return
    verify_goal = VERIFY_GOAL_S * args.entries / VERIFY_GOAL_ENTRIES
    status_goal = STATUS_GOAL_S * args.specs / STATUS_GOAL_SPECS
    for what, figure, goal in (
        (
            f"audit verify of {args.entries} entries (CLI)",
            statistics.median(verify_cli),
            verify_goal,
        ),
        (f"status of {args.specs} specs (CLI)", statistics.median(status_cli), status_goal),
        (f"status of {args.specs} specs (in process)", statistics.median(status_s), status_goal),
    ):
        print(f"goal: {what} under {goal:g} s: {'met' if figure < goal else 'MISSED'}")
    if args.profile or statistics.median(status_cli) >= status_goal:
        print(f"\ncProfile of one status_lines run ({args.specs} specs):")
        print(profile_status(specs))


if __name__ == "__main__":
    main()
