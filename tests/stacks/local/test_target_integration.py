"""The local target on the real engine and host programs: Pulumi (file backend in the demo
project), supervisord, nginx and BentoML. One environment goes through a release's life in
order (each test starts from the state the previous one left): stable and canary with an
80/20 split, drift seen by refresh and undone by up, promotion, a killed server, a killed
update, and `shipyard destroy`."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Any

import httpx
import pytest

from stacks.local import nginx
from stacks.reach.http import MetricsEndpoint
from stacks.target import Slot
from tests.fakes.demo import REPO
from tests.fakes.local import (
    JSON,
    PROBE_TIMEOUT,
    Demo,
    LocalEnv,
    Releases,
    alive,
    descendants,
    exported_resources,
    keep_logs,
    leftovers,
    listening,
    local_env,
    predict,
    program_info,
    ready,
    stack_names,
    upstream_counts,
)

pytestmark = pytest.mark.integration
pytest_plugins = ["tests.fakes.local"]

DYNAMIC = "pulumi-python:dynamic/shipyard:"
SUPERVISORCTL = Path(sys.executable).with_name("supervisorctl")
SHIPYARD = Path(sys.executable).with_name("shipyard")
RESTART_TIMEOUT = 60.0
# Deploys the canary from another process, the way a CI job would; the test kills it mid-way.
DEPLOY_CANARY = """
import json, sys
from pathlib import Path
from stacks.local.config import LocalTargetConfig
from stacks.local.target import LocalTarget
from stacks.target import Release, Slot
c = json.loads(sys.argv[1])
paths = {"state_dir": Path(c.pop("state_dir")), "bentoml_home": Path(c.pop("bentoml_home"))}
target = LocalTarget(LocalTargetConfig(**c, **paths))
target.deploy(Slot.CANARY, Release(sys.argv[2], sys.argv[3]))
"""


@pytest.fixture(scope="module")
def env(demo: Demo, releases: Releases) -> Iterator[LocalEnv]:
    ws, _ = demo
    with local_env(ws, "lt") as local:
        yield local


def resources_of(env: LocalEnv, kind: str) -> dict[str, dict[str, Any]]:
    """The exported state's resources of type `kind`, by resource name."""
    return {
        r["urn"].rsplit("::", 1)[1]: r
        for r in exported_resources(env)
        if r["type"] == DYNAMIC + kind
    }


def serve_processes(port: int) -> list[int]:
    """`bentoml serve ... --port PORT` processes (the servers' main processes)."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            args = (entry / "cmdline").read_bytes().decode().split("\0")
        except (OSError, UnicodeDecodeError):
            continue
        if "serve" in args and "--port" in args and str(port) in args:
            found.append(int(entry.name))
    return found


def assert_split(env: LocalEnv, releases: Releases, stable: int, canary: int) -> None:
    counts = upstream_counts(env, releases, stable + canary)
    assert abs(counts[env.upstream(Slot.STABLE)] - stable) <= 5, counts
    assert abs(counts[env.upstream(Slot.CANARY)] - canary) <= 5, counts
    assert sum(counts.values()) == stable + canary, counts


def test_canary_takes_its_weight_and_the_stack_holds_every_resource(
    env: LocalEnv, releases: Releases
) -> None:
    target = env.target
    stable = target.deploy(Slot.STABLE, releases.a)
    assert (stable.release, stable.weight, stable.url) == (releases.a, 100, env.url(Slot.STABLE))
    canary = target.deploy(Slot.CANARY, releases.b)
    assert (canary.release, canary.weight) == (releases.b, 0)
    assert predict(env.url(Slot.STABLE), releases) != predict(env.url(Slot.CANARY), releases)

    prefix = str(env.config.base_dir / "nginx")
    old_workers = nginx.workers(prefix)
    assert old_workers
    target.set_weights({Slot.STABLE: 80, Slot.CANARY: 20})
    assert target.state().weights == {Slot.STABLE: 80, Slot.CANARY: 20}
    # the change is in effect when set_weights returns: no worker of the old config accepts
    assert not set(nginx.workers(prefix)) & set(old_workers)
    assert nginx.workers(prefix)
    slots = target.state().slots
    before = {
        slot: MetricsEndpoint(slots[slot].metrics_url).counters(f"/{releases.api}")
        for slot in slots
    }
    # smooth weighted round-robin in nginx's single worker: exactly 160/40, give or take
    # requests an earlier probe made
    assert_split(env, releases, stable=160, canary=40)
    # each slot's /metrics counts its own requests only (the canary analysis compares them)
    served = {
        slot: MetricsEndpoint(slots[slot].metrics_url)
        .counters(f"/{releases.api}")
        .since(before[slot])
        .requests
        for slot in slots
    }
    assert abs(served[Slot.STABLE] - 160) <= 5, served
    assert abs(served[Slot.CANARY] - 40) <= 5, served

    assert env.stack_name == f"organization/shipyard-credit-risk/{env.name}"
    assert env.stack_name in stack_names(env)
    assert len(resources_of(env, "Supervisord")) == 1
    assert len(resources_of(env, "NginxSite")) == 1
    servers = resources_of(env, "BentoServer")
    assert {name: r["inputs"]["bento"] for name, r in servers.items()} == {
        "bento-stable": releases.a.bento,
        "bento-canary": releases.b.bento,
    }
    assert {r["inputs"]["port"] for r in servers.values()} == {
        env.config.slot_port("stable"),
        env.config.slot_port("canary"),
    }


def test_a_large_batch_passes_through_nginx(env: LocalEnv, releases: Releases) -> None:
    """A body larger than nginx's default in-memory buffer (16 KiB) reaches the server: the
    workers run as `nobody` and cannot spill it under a state folder only root can enter."""
    rows = [releases.row] * 60  # the Bento takes at most max_batch_size (64) rows
    body = json.dumps({"rows": rows}, indent=12)
    assert len(body) > 32 * 1024
    response = httpx.post(
        f"{env.endpoint}/{releases.api}", content=body, headers=JSON, timeout=PROBE_TIMEOUT
    )
    assert response.status_code == 200, response.text
    assert len(response.json()) == len(rows)


def test_refresh_reports_a_hand_edited_weight_and_up_restores_it(
    env: LocalEnv, releases: Releases
) -> None:
    st = env.stack()
    st.refresh()  # the state takes the weights set on the fast path
    conf = env.config.base_dir / "nginx" / "nginx.conf"
    desired = conf.read_text(encoding="utf-8")
    assert desired.count("weight=80 ") == 1
    conf.write_text(desired.replace("weight=80 ", "weight=50 "), encoding="utf-8")

    refreshed = st.refresh()
    assert refreshed.summary.resource_changes == {"same": 4, "update": 1}
    site = resources_of(env, "NginxSite")["nginx"]
    assert site["outputs"]["upstreams"]["stable"]["weight"] == 50, "read() sees the edit"

    applied = env.stack().up()
    assert applied.summary.resource_changes == {"same": 4, "update": 1}
    assert conf.read_text(encoding="utf-8") == desired
    on_disk = nginx.written(str(conf.parent)) or {}
    assert nginx.serving(env.config.listen_port) == on_disk["digest"]
    assert_split(env, releases, stable=160, canary=40)


def test_promote_makes_the_canary_release_stable_and_removes_the_canary(
    env: LocalEnv, releases: Releases
) -> None:
    canary_port = env.config.slot_port("canary")
    value_b = predict(env.url(Slot.CANARY), releases)

    promoted = env.target.promote()

    assert (promoted.slot, promoted.release, promoted.weight) == (Slot.STABLE, releases.b, 100)
    state = env.target.state()
    assert list(state.slots) == [Slot.STABLE]
    assert predict(env.url(Slot.STABLE), releases) == value_b, "stable runs Bento B"
    assert listening([canary_port]) == []
    assert serve_processes(canary_port) == []
    assert program_info(env, "bento-canary") is None
    assert not (env.config.base_dir / "supervisor" / "programs" / "bento-canary.conf").exists()
    assert list(resources_of(env, "BentoServer")) == ["bento-stable"]
    counts = upstream_counts(env, releases, 50)
    assert counts == {env.upstream(Slot.STABLE): 50}


def test_refresh_reports_a_server_stopped_by_hand_and_up_starts_it(
    env: LocalEnv, releases: Releases
) -> None:
    conf = env.config.base_dir / "supervisor" / "supervisord.conf"
    stopped = subprocess.run(
        [str(SUPERVISORCTL), "-c", str(conf), "stop", "bento-stable"],
        capture_output=True,
        text=True,
    )
    assert stopped.returncode == 0, stopped.stdout + stopped.stderr
    assert (program_info(env, "bento-stable") or {}).get("statename") == "STOPPED"

    st = env.stack()
    refreshed = st.refresh()
    assert refreshed.summary.resource_changes == {"same": 3, "update": 1}
    assert resources_of(env, "BentoServer")["bento-stable"]["outputs"]["state"] == "stopped"

    applied = st.up()
    assert applied.summary.resource_changes == {"same": 3, "update": 1}
    assert (program_info(env, "bento-stable") or {}).get("statename") == "RUNNING"
    assert ready(env.url(Slot.STABLE))
    predict(env.endpoint, releases)


def test_supervisord_restarts_a_server_killed_with_sigkill(env: LocalEnv) -> None:
    before = program_info(env, "bento-stable") or {}
    assert before.get("statename") == "RUNNING"
    workers = descendants(int(before["pid"]))
    assert workers, "bentoml serve runs its workers as child processes"
    os.kill(int(before["pid"]), signal.SIGKILL)

    # The old server's workers (process groups of their own) outlive it and keep answering on
    # its port until the restarted program's launcher ends them: only then can /readyz tell
    # that the new server is ready.
    deadline = time.monotonic() + RESTART_TIMEOUT
    after: dict[str, Any] = {}
    while time.monotonic() < deadline:
        after = program_info(env, "bento-stable") or {}
        restarted = after.get("statename") == "RUNNING" and after.get("pid") != before["pid"]
        if restarted and not alive(workers):
            break
        time.sleep(0.2)
    assert after.get("statename") == "RUNNING", after
    assert after["pid"] != before["pid"]
    assert alive(workers) == [], "the killed server's workers are gone"
    assert ready(env.url(Slot.STABLE), timeout=max(1.0, deadline - time.monotonic()))
    assert serve_processes(env.config.slot_port("stable")) == [after["pid"]]
    assert (program_info(env, "bento-stable") or {}).get("pid") == after["pid"]


def _lock_files(env: LocalEnv) -> list[Path]:
    backend = Path(env.target.settings.backend_url.removeprefix("file://"))
    return list((backend / ".pulumi" / "locks").glob(f"**/{env.config.project}/{env.name}/*"))


def _text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return ""


def test_an_update_killed_midway_is_recovered_by_the_next(
    env: LocalEnv, releases: Releases, tmp_path: Path
) -> None:
    config = json.dumps(asdict(env.config), default=str)
    program = env.config.base_dir / "supervisor" / "programs" / "bento-canary.conf"
    log = tmp_path / "deploy.log"
    with log.open("wb") as out:
        deploy = subprocess.Popen(
            [sys.executable, "-c", DEPLOY_CANARY, config, releases.a.bento, releases.a.model],
            cwd=REPO,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    started = time.monotonic()
    try:
        while not (_lock_files(env) and releases.a.bento in _text(program)):
            assert deploy.poll() is None, log.read_text(encoding="utf-8")
            assert time.monotonic() - started < 120, "the deploy never got to the canary"
            time.sleep(0.02)
    finally:  # the engine runs in the group; plugins (the provider) have groups of their own
        tree = descendants(deploy.pid)
        os.killpg(deploy.pid, signal.SIGKILL)
        for pid in tree:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        deploy.wait()
    assert len(tree) >= 2, "the engine and the provider ran"
    for _ in range(100):
        if not alive([deploy.pid, *tree]):
            break
        time.sleep(0.1)
    assert alive([deploy.pid, *tree]) == []
    assert _lock_files(env), "the killed update left its lock"

    canary = env.target.deploy(Slot.CANARY, releases.a)

    recovered = " ".join(env.target.log)
    assert "lock left by a killed update" in recovered
    assert "pending operation" in recovered
    assert _lock_files(env) == []
    assert (canary.release, canary.weight) == (releases.a, 0)
    assert env.target.state().weights == {Slot.STABLE: 100, Slot.CANARY: 0}
    assert (program_info(env, "bento-canary") or {}).get("statename") == "RUNNING"
    assert len(serve_processes(env.config.slot_port("canary"))) == 1
    servers = resources_of(env, "BentoServer")
    assert {name: r["inputs"]["bento"] for name, r in servers.items()} == {
        "bento-stable": releases.b.bento,
        "bento-canary": releases.a.bento,
    }
    value_a = predict(env.url(Slot.CANARY), releases)
    assert value_a != predict(env.url(Slot.STABLE), releases)


def test_shipyard_destroy_leaves_nothing_behind(env: LocalEnv) -> None:
    assert leftovers(env), "the environment runs before destroy"
    keep_logs(env)
    result = subprocess.run(
        [str(SHIPYARD), "-C", str(env.ws.root), "destroy", str(env.spec_file), "--env", env.name],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"destroyed credit-risk in {env.name}" in result.stdout
    assert leftovers(env) == []
    assert env.stack_name not in stack_names(env)
