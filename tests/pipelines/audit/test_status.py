"""`shipyard status`: the report built from literals (target state, probe, ledger head,
in-flight record) and its two renderings, the text table and the JSON object; then
`collect` over real projects — the local target's desired state written as a release would
leave it, the memory target deployed, the state store's in-flight rollout."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from pipelines.audit.ledger import LedgerKind, ledger_of
from pipelines.audit.status import (
    HEADER,
    EnvStatus,
    Health,
    LastEntry,
    RolloutView,
    ServicePhase,
    SlotView,
    StatusReport,
    _ago,
    collect,
    env_status,
    rollout_view,
    show_status,
    status_json,
    status_lines,
    status_text,
)
from pipelines.core.specs import load_spec
from pipelines.core.targets import target_for
from pipelines.state.store import LedgerRow
from stacks.desired import Desired
from stacks.target import Release, Slot, SlotState, TargetState
from tests.fakes.deployed import (
    CANARY,
    IN_FLIGHT,
    MEMORY_SPEC,
    OWNER,
    canary_in_flight,
    closed_port,
    deploy_local,
    local_spec_down,
)
from tests.fakes.memory_target import registered
from tests.fakes.projects import BAD_SPEC, local_spec, project

NOW = 1_700_000_000.0


def row(spec: str, env: str, version: str, weights: str, health: str, last: str) -> str:
    return f"{spec:<16} {env:<12} {version:<24} {weights:<22} {health:<8} {last}"


def slot(name: Slot, model: str, weight: int) -> SlotState:
    bento = f"credit:{model[-1]}"
    return SlotState(name, Release(bento, model), f"http://{name}", f"http://{name}/m", weight)


CANARY_STATE = TargetState(
    "http://endpoint",
    {
        Slot.STABLE: slot(Slot.STABLE, "models:/credit/3", 90),
        Slot.CANARY: slot(Slot.CANARY, "models:/credit/4", 10),
    },
)
HEAD = LedgerRow(12, NOW - 120, "analysis", "credit", "production", "p", "h", "{}")
ROLLOUT = RolloutView(
    CANARY.model,
    CANARY.bento,
    step=1,
    steps=4,
    weights={"canary": 10, "stable": 90},  # by name: the store keeps JSON with sorted keys
    verdict="Inconclusive",
    status="progressing",
    owner=OWNER,
    analysis=({"phase": "Successful", "seq": 3}, {"phase": "Inconclusive", "seq": 4}),
    updated=NOW - 5,
)
REPORT = StatusReport(
    [
        EnvStatus("credit", "staging", {}, None, None),
        EnvStatus(
            "credit",
            "production",
            {
                "stable": SlotView("models:/credit/3", "credit:3", 90),
                "canary": SlotView("models:/credit/4", "credit:4", 10),
            },
            Health.READY,
            LastEntry("analysis", NOW - 120, 12),
            ROLLOUT,
        ),
        EnvStatus(
            "fraud",
            "production",
            {"stable": SlotView("models:/fraud/7", "fraud:7", 100)},
            Health.DOWN,
            LastEntry("promoted", NOW - 7200, 9),
        ),
    ]
)


# --- the report from literals -------------------------------------------------------------------


def test_an_environment_from_its_target_state_probe_and_ledger_head() -> None:
    built = env_status("credit", "production", CANARY_STATE, True, HEAD, ROLLOUT)
    assert built == REPORT.services[1]
    assert built.weights == {"stable": 90, "canary": 10}
    assert built.slots["canary"].version == "4"
    nothing = env_status("credit", "staging", TargetState(None, {}), None, None)
    assert (nothing.slots, nothing.health, nothing.last, nothing.rollout) == ({}, None, None, None)
    assert env_status("credit", "production", CANARY_STATE, False, None).health == Health.DOWN


def test_the_in_flight_record_reads_as_step_weights_last_verdict_and_owner() -> None:
    record = {**IN_FLIGHT, "owner": OWNER, "started": NOW - 60, "updated": NOW - 5}
    assert rollout_view(record, 4) == ROLLOUT
    assert list(rollout_view(record, 4).weights) == ["canary", "stable"]  # always by name
    deploying = rollout_view({**record, "step": 0, "analysis": [], "status": "deploying"}, 4)
    assert (deploying.step, deploying.verdict, deploying.status) == (0, None, "deploying")


@pytest.mark.parametrize(
    ("health", "status", "phase"),
    [
        (None, None, ServicePhase.NOT_DEPLOYED),
        (Health.READY, None, ServicePhase.HEALTHY),
        (Health.READY, "progressing", ServicePhase.PROGRESSING),
        (Health.READY, "paused", ServicePhase.PAUSED),
        (Health.DOWN, None, ServicePhase.DEGRADED),
        (Health.DOWN, "progressing", ServicePhase.DEGRADED),
    ],
)
def test_the_phase_of_an_environment(
    health: Health | None, status: str | None, phase: ServicePhase
) -> None:
    rollout = None if status is None else RolloutView("m", "b", 1, 4, {}, None, status, "o")
    assert EnvStatus("s", "e", {}, health, None, rollout).phase == phase


def test_only_an_environment_that_is_down_fails_the_report() -> None:
    assert (REPORT.healthy, REPORT.exit_code) == (False, 1)
    assert [(s.spec, s.env) for s in REPORT.down] == [("fraud", "production")]
    healthy = StatusReport(REPORT.services[:2])  # one never deployed, one ready
    assert (healthy.healthy, healthy.exit_code, healthy.down) == (True, 0, [])
    assert StatusReport([]).exit_code == 0


# --- the two renderings -------------------------------------------------------------------------


def test_the_text_table_with_a_rollout_in_flight_and_what_is_down_last() -> None:
    assert status_text(REPORT, NOW) == [
        HEADER,
        row("credit", "staging", "not deployed", "-", "-", "never"),
        row(
            "credit",
            "production",
            "stable=3, canary=4",
            "stable:90% canary:10%",
            "ready",
            "analysis 2m ago",
        ),
        "  rollout of 4: step 1/4, canary:10% stable:90%, last verdict Inconclusive, "
        f"progressing, by {OWNER}",
        row("fraud", "production", "stable=7", "stable:100%", "down", "promoted 2h ago"),
        "down: fraud/production (the stable slot fails its readiness probe)",
    ]
    healthy = status_text(StatusReport(REPORT.services[:1]), NOW)
    assert healthy == [HEADER, row("credit", "staging", "not deployed", "-", "-", "never")]


def test_the_json_object_reads_the_same_report() -> None:
    assert status_json(REPORT) == {
        "services": [
            {
                "spec": "credit",
                "env": "staging",
                "slots": {},
                "weights": {},
                "health": None,
                "phase": "NotDeployed",
                "last": None,
                "rollout": None,
            },
            {
                "spec": "credit",
                "env": "production",
                "slots": {
                    "stable": {"model": "models:/credit/3", "bento": "credit:3", "version": "3"},
                    "canary": {"model": "models:/credit/4", "bento": "credit:4", "version": "4"},
                },
                "weights": {"stable": 90, "canary": 10},
                "health": "ready",
                "phase": "Progressing",
                "last": {"kind": "analysis", "ts": NOW - 120, "seq": 12},
                "rollout": {
                    "release": {"model": CANARY.model, "bento": CANARY.bento},
                    "step": 1,
                    "steps": 4,
                    "weights": {"canary": 10, "stable": 90},
                    "verdict": "Inconclusive",
                    "analysis": [
                        {"phase": "Successful", "seq": 3},
                        {"phase": "Inconclusive", "seq": 4},
                    ],
                    "status": "progressing",
                    "owner": OWNER,
                    "updated": NOW - 5,
                },
            },
            {
                "spec": "fraud",
                "env": "production",
                "slots": {
                    "stable": {"model": "models:/fraud/7", "bento": "fraud:7", "version": "7"}
                },
                "weights": {"stable": 100},
                "health": "down",
                "phase": "Degraded",
                "last": {"kind": "promoted", "ts": NOW - 7200, "seq": 9},
                "rollout": None,
            },
        ],
        "healthy": False,
    }


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [
        (5, "5s ago"),
        (59, "59s ago"),
        (60, "1m ago"),
        (140, "2m ago"),
        (7200, "2h ago"),
        (3 * 86400, "3d ago"),
    ],
)
def test_how_long_ago(seconds: float, shown: str) -> None:
    assert _ago(NOW - seconds, NOW) == shown


# --- collecting from a project ------------------------------------------------------------------


def test_specs_never_deployed(tmp_path: Path) -> None:
    project(tmp_path, {"credit.yaml": local_spec("credit"), "bad.yaml": BAD_SPEC})
    assert status_lines(tmp_path) == [
        HEADER,
        row("credit", "staging", "not deployed", "-", "-", "never"),
        row("credit", "production", "not deployed", "-", "-", "never"),
    ]
    assert show_status(tmp_path, "text") == ("\n".join(status_lines(tmp_path)), 0)


def test_a_canary_running_with_its_weights_and_the_last_ledger_entry(tmp_path: Path) -> None:
    ws = project(tmp_path, {"credit.yaml": local_spec("credit")})
    spec = load_spec(tmp_path / "specs" / "credit.yaml", tmp_path)
    target = target_for(spec, "production", ws)
    Desired(
        {
            "stable": {"bento": "credit:aaa", "model": "models:/credit/3"},
            "canary": {"bento": "credit:bbb", "model": "models:/credit/4"},
        },
        {"stable": 90, "canary": 10},
    ).save(target.desired_path)  # type: ignore[attr-defined]  # the local target's file
    ledger_of(ws).append(LedgerKind.STEP, "credit", "production", weights={"canary": 10})
    lines = status_lines(tmp_path)
    assert lines[1] == row("credit", "staging", "not deployed", "-", "-", "never")
    assert lines[2].startswith(
        row("credit", "production", "canary=4, stable=3", "canary:10% stable:90%", "down", "step ")
    )
    assert lines[2].endswith("s ago")
    assert lines[3:] == ["down: credit/production (the stable slot fails its readiness probe)"]


def test_a_deployed_environment_whose_stable_slot_refuses_is_down(tmp_path: Path) -> None:
    with closed_port() as port:
        ws = project(tmp_path, {"fraud.yaml": local_spec_down("fraud", port)})
        deploy_local(ws, tmp_path / "specs" / "fraud.yaml", "production")
        report = collect(tmp_path)
        text, code = show_status(tmp_path, "json")
    (fraud,) = report.services
    assert (fraud.health, fraud.phase, report.exit_code) == (Health.DOWN, ServicePhase.DEGRADED, 1)
    assert code == 1
    assert '"healthy": false' in text


def test_the_rollout_in_flight_comes_from_the_state_store_with_the_specs_step_count(
    tmp_path: Path,
) -> None:
    ws = project(tmp_path, {"credit.yaml": MEMORY_SPEC})
    with registered():
        canary_in_flight(ws, tmp_path / "specs" / "credit.yaml")
        started = time.time()
        report = collect(tmp_path)
    staging, production = report.services
    assert (staging.health, staging.phase, staging.rollout) == (
        Health.READY,
        ServicePhase.HEALTHY,
        None,
    )
    assert production.phase == ServicePhase.PROGRESSING
    rollout = production.rollout
    assert rollout is not None
    assert (rollout.step, rollout.steps, rollout.verdict, rollout.owner) == (
        1,
        4,
        "Inconclusive",
        OWNER,
    )
    assert rollout.weights == {"stable": 90, "canary": 10}
    assert rollout.updated is not None
    assert started - 60 < rollout.updated <= started  # when the record was last written
    assert report.exit_code == 0
