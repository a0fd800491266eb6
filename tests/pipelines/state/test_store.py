"""The state store's contract, on SQLite and on PostgreSQL: the schema on first open, one
gap-free hash chain however many threads and processes append, the ledger's filters, the
records (approvals, releases, rollouts, monitor checkpoints) and the errors of a store that
cannot be reached or named."""

from __future__ import annotations

import hashlib
import json
import subprocess
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from pipelines.audit.ledger import GENESIS, Ledger, LedgerKind
from pipelines.core.errors import UsageError
from pipelines.state import schema
from pipelines.state.engine import URL_ENV, ephemeral_warning
from pipelines.state.store import LedgerRow, StateError, Store, open_store
from tests.fakes.bento_server import free_port

if TYPE_CHECKING:
    from tests.pipelines.state.conftest import Spawn

# A child process: on "go" (stdin) open the store, which is empty, so every child races to
# create its schema; say "opened"; on the next "go" append N entries of its own spec, all
# children at once; say "done".
APPENDER = """
import sys
from pipelines.audit.ledger import Ledger, LedgerKind
from pipelines.state.store import open_store

url, name, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
sys.stdin.readline()
ledger = Ledger(open_store(url))
print("opened", ledger.store.revision(), flush=True)
sys.stdin.readline()
for i in range(count):
    ledger.append(LedgerKind.STEP, name, "production", i=i)
print("done", flush=True)
"""


def go(children: list[subprocess.Popen[str]], then: str) -> None:
    """Let every child past its next barrier; each must then say `then`."""
    for child in children:
        assert child.stdin is not None
        child.stdin.write("go\n")
        child.stdin.flush()
    for child in children:
        assert child.stdout is not None
        said = child.stdout.readline()
        if said != then:
            child.kill()
            pytest.fail(f"child said {said!r}, not {then!r}: {child.communicate(timeout=10)[1]}")


def assert_one_chain(rows: Iterable[LedgerRow]) -> list[LedgerRow]:
    """Rows 1..n, each linked to the one before and hashed over its body."""
    found, prev = list(rows), GENESIS
    for seq, one in enumerate(found, start=1):
        assert one.seq == seq, f"seq {one.seq} at position {seq}"
        assert one.prev == prev, f"seq {seq} does not follow seq {seq - 1}"
        assert one.hash == hashlib.sha256(one.body.encode()).hexdigest(), f"seq {seq}: hash"
        body = json.loads(one.body)
        assert (body["seq"], body["prev"], body["kind"], body["spec"], body["env"]) == (
            one.seq,
            one.prev,
            one.kind,
            one.spec,
            one.env,
        )
        prev = one.hash
    return found


def row(
    seq: int, prev: str, kind: str = "gates", spec: str = "a", env: str | None = None
) -> LedgerRow:
    body = json.dumps(
        {"seq": seq, "ts": float(seq), "kind": kind, "spec": spec, "env": env, "prev": prev},
        sort_keys=True,
    )
    digest = hashlib.sha256(body.encode()).hexdigest()
    return LedgerRow(seq, float(seq), kind, spec, env, prev, digest, body)


def maker(kind: str, spec: str, env: str | None) -> Callable[[int, str], LedgerRow]:
    """What `append_ledger` takes: the row of (kind, spec, env) at the next seq."""
    return lambda seq, prev: row(seq, prev, kind, spec, env)


def test_a_fresh_database_gets_the_newest_schema(store_url: str) -> None:
    fresh = Store(store_url)
    try:
        assert fresh.revision() is None
    finally:
        fresh.engine.dispose()
    store = open_store(store_url)
    assert store.revision() == schema.HEAD
    assert open_store(store_url) is store  # one store per URL and process
    assert store.ledger_head() is None


def test_append_makes_consecutive_linked_rows(store_url: str) -> None:
    store = open_store(store_url)
    first = store.append_ledger(lambda seq, prev: row(seq, prev))
    second = store.append_ledger(maker("build", "a", "staging"))
    assert (first.seq, first.prev) == (1, GENESIS)
    assert (second.seq, second.prev) == (2, first.hash)
    assert assert_one_chain(store.ledger_rows()) == [first, second]
    assert store.ledger_head() == (2, second.hash)


def test_threads_appending_at_once_make_one_chain(store_url: str) -> None:
    ledger = Ledger(open_store(store_url))
    threads, each = 4, 25
    start = threading.Barrier(threads)
    failures: list[BaseException] = []

    def append(name: str) -> None:
        start.wait()
        try:
            for i in range(each):
                ledger.append(LedgerKind.STEP, name, "production", i=i)
        except BaseException as exc:  # reported below: a thread's exception is otherwise lost
            failures.append(exc)

    workers = [threading.Thread(target=append, args=(f"t{n}",)) for n in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert failures == []
    rows = assert_one_chain(ledger.store.ledger_rows())
    assert len(rows) == threads * each
    for n in range(threads):  # each thread's entries, in the order it appended them
        mine = [json.loads(r.body)["details"]["i"] for r in rows if r.spec == f"t{n}"]
        assert mine == list(range(each))


def test_processes_creating_and_appending_at_once_make_one_chain(
    store_url: str, spawn: Spawn
) -> None:
    processes, each = 3, 20
    children = [spawn(APPENDER, store_url, f"p{n}", str(each)) for n in range(processes)]
    go(children, then=f"opened {schema.HEAD}\n")  # every one found (or made) the schema
    go(children, then="done\n")
    for child in children:
        out, err = child.communicate(timeout=60)
        assert (child.returncode, out) == (0, ""), err
    rows = assert_one_chain(open_store(store_url).ledger_rows())
    assert len(rows) == processes * each
    for n in range(processes):
        mine = [json.loads(r.body)["details"]["i"] for r in rows if r.spec == f"p{n}"]
        assert mine == list(range(each))


def test_ledger_rows_filters(store_url: str) -> None:
    store = open_store(store_url)
    cases = [
        ("gates", "a", None),
        ("deploy", "a", "staging"),
        ("promoted", "a", "production"),
        ("deploy", "b", "production"),
        ("rollback", "a", "production"),
        ("promoted", "a", "staging"),
    ]
    for case in cases:
        store.append_ledger(maker(*case))

    def seqs(rows: Iterable[LedgerRow]) -> list[int]:
        return [r.seq for r in rows]

    assert seqs(store.ledger_rows()) == [1, 2, 3, 4, 5, 6]
    assert seqs(store.ledger_rows(spec="a")) == [1, 2, 3, 5, 6]
    assert seqs(store.ledger_rows(spec="a", env="production")) == [3, 5]
    assert seqs(store.ledger_rows(spec="b", env="staging")) == []
    assert seqs(store.ledger_rows(kinds=("deploy", "promoted"))) == [2, 3, 4, 6]
    assert seqs(store.ledger_rows(spec="a", env="staging", kinds=("promoted",))) == [6]
    assert seqs(store.ledger_rows(newest_first=True)) == [6, 5, 4, 3, 2, 1]
    assert seqs(store.ledger_rows(limit=2)) == [1, 2]
    assert seqs(store.ledger_rows(spec="a", env="production", newest_first=True, limit=1)) == [5]
    assert seqs(store.ledger_rows(spec="nobody")) == []


def test_import_fills_an_empty_ledger_and_refuses_a_non_empty_one(store_url: str) -> None:
    store = open_store(store_url)
    rows, prev = [], GENESIS
    for seq in range(1, 8):
        made = row(seq, prev, spec=f"s{seq % 2}")
        rows.append(made)
        prev = made.hash
    assert store.import_ledger(iter(rows), batch=3) == 7
    assert assert_one_chain(store.ledger_rows()) == rows
    with pytest.raises(UsageError, match="is not empty: importing would mix two chains") as err:
        store.import_ledger(iter([row(1, GENESIS)]))
    assert URL_ENV in err.value.hint
    assert list(store.ledger_rows()) == rows  # nothing was added


def test_approvals_are_kept_per_spec(store_url: str) -> None:
    store = open_store(store_url)
    first = {"by": "ana", "env": "production", "reason": "CAB-12", "ts": 1.5}
    second = {"by": "bo", "env": "staging", "waive": ["latency"]}
    store.add_approval("credit-risk", first)
    store.add_approval("fraud", {"by": "cy"})
    store.add_approval("credit-risk", second)
    assert store.approvals("credit-risk") == [first, second]
    assert store.approvals("fraud") == [{"by": "cy"}]
    assert store.approvals("churn") == []


def test_releases_are_a_history_oldest_first(store_url: str) -> None:
    store = open_store(store_url)
    for version in (1, 2, 3):
        model = f"models:/credit-risk/{version}"
        store.add_release("credit-risk", "production", model, {"version": version, "via": "apply"})
    store.add_release("credit-risk", "staging", "models:/credit-risk/4", {"version": 4})
    history = store.releases("credit-risk", "production")
    assert [(r["model"], r["version"], r["via"]) for r in history] == [
        (f"models:/credit-risk/{v}", v, "apply") for v in (1, 2, 3)
    ]
    stamps = [r["ts"] for r in history]
    assert stamps == sorted(stamps)
    assert [r["version"] for r in store.releases("credit-risk", "staging")] == [4]
    assert store.releases("fraud", "production") == []


def test_rollouts_put_update_get_list_clear(store_url: str) -> None:
    store = open_store(store_url)
    assert store.rollout("credit-risk", "production") is None
    store.put_rollout("credit-risk", "production", "ci-1, pid 10", {"step": 0, "weights": [100, 0]})
    created = store.rollout("credit-risk", "production")
    assert created is not None
    assert created["owner"] == "ci-1, pid 10"
    assert (created["step"], created["weights"]) == (0, [100, 0])
    assert created["updated"] == created["started"]

    store.put_rollout("credit-risk", "production", "ci-2, pid 20", {"step": 1, "weights": [80, 20]})
    store.put_rollout("fraud", "staging", "ci-3, pid 30", {"step": 0})
    updated = store.rollout("credit-risk", "production")
    assert updated is not None
    assert updated["started"] == created["started"]  # the rollout's start is kept
    assert updated["updated"] >= created["updated"]
    assert {k: updated[k] for k in ("owner", "step", "weights")} == {
        "owner": "ci-2, pid 20",
        "step": 1,
        "weights": [80, 20],
    }
    listed = {(r["spec"], r["env"]): r for r in store.rollouts()}
    assert set(listed) == {("credit-risk", "production"), ("fraud", "staging")}
    assert listed["credit-risk", "production"] == {
        "spec": "credit-risk",
        "env": "production",
        **updated,
    }

    store.clear_rollout("credit-risk", "production")
    store.clear_rollout("credit-risk", "production")  # clearing twice is no error
    assert store.rollout("credit-risk", "production") is None
    assert [(r["spec"], r["env"]) for r in store.rollouts()] == [("fraud", "staging")]


def test_snapshots_keep_the_newest_and_round_trip_their_json(store_url: str) -> None:
    store = open_store(store_url)
    for n in range(6):
        record = {"n": n, "buckets": {"0.1": n, "0.5": 2 * n, "+Inf": 3 * n}, "le": "+Inf"}
        store.add_snapshot("credit-risk", "production", float(n), record, keep=3)
    store.add_snapshot("credit-risk", "staging", 0.0, {"n": 99}, keep=3)
    kept = store.snapshots("credit-risk", "production")
    assert [s["n"] for s in kept] == [3, 4, 5]
    assert kept[-1] == {"n": 5, "buckets": {"0.1": 5, "0.5": 10, "+Inf": 15}, "le": "+Inf"}
    assert store.snapshots("credit-risk", "staging") == [{"n": 99}]  # another environment's
    store.add_snapshot("credit-risk", "production", 6.0, {"n": 6}, keep=1)
    assert store.snapshots("credit-risk", "production") == [{"n": 6}]


def test_values_are_overwritten(store_url: str) -> None:
    store = open_store(store_url)
    assert store.value("credit-risk", "production", "baseline") is None
    store.put_value("credit-risk", "production", "baseline", {"p99": 0.25, "le": ["+Inf"]})
    store.put_value("credit-risk", "production", "window", {"from": 1.0, "to": 2.0})
    store.put_value("credit-risk", "production", "baseline", {"p99": 0.3})
    assert store.value("credit-risk", "production", "baseline") == {"p99": 0.3}
    assert store.value("credit-risk", "production", "window") == {"from": 1.0, "to": 2.0}
    assert store.value("credit-risk", "staging", "baseline") is None


def test_writers_of_one_key_at_once_keep_one_record(store_url: str) -> None:
    """Under PostgreSQL's READ COMMITTED a read-then-insert lets two writers both insert;
    the store upserts (INSERT ... ON CONFLICT DO UPDATE) on both engines."""
    store = open_store(store_url)
    threads, each = 4, 25
    start = threading.Barrier(threads)
    failures: list[str] = []

    def write(n: int) -> None:
        start.wait()
        for i in range(each):
            try:
                store.put_value("credit-risk", "production", "baseline", {"n": n, "i": i})
                store.put_rollout("credit-risk", f"env-{i}", f"pid {n}", {"n": n})
            except Exception as exc:  # collected: the assertion below shows them
                failures.append(f"{type(exc).__name__}: {str(exc).splitlines()[0]}")

    workers = [threading.Thread(target=write, args=(n,)) for n in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert failures == []
    value = store.value("credit-risk", "production", "baseline")
    assert value is not None
    assert value["i"] == each - 1
    assert len(store.rollouts()) == each


def test_an_unreachable_postgresql_is_a_state_error_without_the_password() -> None:
    port = free_port()  # nothing listens on it
    url = f"postgresql+psycopg://shipyard:s3cret-pw@127.0.0.1:{port}/state"
    with pytest.raises(
        StateError,
        match=rf"^state store postgresql\+psycopg://shipyard:\*\*\*@127\.0\.0\.1:{port}/state: ",
    ) as err:
        open_store(url)
    assert "s3cret-pw" not in f"{err.value.message} {err.value.hint}"
    assert URL_ENV in err.value.hint
    assert err.value.__cause__ is None  # no driver traceback
    assert err.value.__suppress_context__
    assert err.value.exit_code == 2


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("not a database url", "SHIPYARD_STATE_URL='not a database url' is not a database URL"),
        ("mysql://u@localhost/state", "SHIPYARD_STATE_URL: mysql is not a supported state store"),
    ],
)
def test_a_url_that_is_not_a_state_store_is_bad_input(url: str, message: str) -> None:
    with pytest.raises(UsageError, match=f"^{message}$") as err:
        open_store(url)
    assert "sqlite:///" in err.value.hint or "PostgreSQL" in err.value.hint


def test_a_ci_job_with_its_state_inside_the_checkout_is_warned(tmp_path: Path) -> None:
    inside = f"sqlite:///{tmp_path / '.shipyard' / 'state.db'}"
    ci = {"CI": "true"}
    warning = ephemeral_warning(inside, tmp_path, ci)
    assert warning is not None
    assert "lost when the job ends" in warning
    assert "SHIPYARD_STATE_URL" in warning
    assert ephemeral_warning(inside, tmp_path, {"GITHUB_ACTIONS": "true"}) == warning
    assert ephemeral_warning(inside, tmp_path, {}) is None  # not CI: a laptop keeps it
    outside = f"sqlite:///{tmp_path.parent / 'shared' / 'state.db'}"
    assert ephemeral_warning(outside, tmp_path, ci) is None
    assert ephemeral_warning("postgresql+psycopg://ci@db/shipyard", tmp_path, ci) is None
