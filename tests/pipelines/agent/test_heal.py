"""Healing one environment on the in-process memory target (tests/fakes/memory_target.py)
with a real SQLite state store and ledger: what runs as recorded is left alone; a canary
nobody drives is taken out; weights edited behind Shipyard's back are set back; an
environment whose lock another run holds is skipped, not waited for. Each heal is one
`healed` ledger entry."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from pipelines.agent.heal import expected_release, look, observe
from pipelines.agent.reconcile import Heal
from pipelines.audit.ledger import LedgerKind
from pipelines.core.specs import load_spec
from pipelines.core.targets import target_for
from pipelines.core.workspace import Workspace
from pipelines.release.context import ApplyOptions, ReleaseContext
from pipelines.state.locks import environment_lock
from pipelines.state.store import forget_stores, open_store
from stacks.target import Slot
from tests.fakes.deployed import MEMORY_SPEC, STABLE, deploy
from tests.fakes.memory_target import registered


@pytest.fixture
def ctx(tmp_path: Path) -> Iterator[ReleaseContext]:
    (tmp_path / "specs").mkdir()
    spec_file = tmp_path / "specs" / "credit.yaml"
    spec_file.write_text(MEMORY_SPEC, encoding="utf-8")
    ws = Workspace.at(tmp_path)
    with registered():
        spec = load_spec(spec_file, ws.root)
        found = ReleaseContext(spec, spec_file, ws, ApplyOptions(), lambda _: None)
        yield found
    forget_stores()


def released(ctx: ReleaseContext, env: str) -> None:
    """STABLE running in `env` and recorded as its release, as apply leaves it."""
    deploy(ctx.ws, ctx.spec_file, env)
    entry = ctx.record(LedgerKind.PROMOTED, env, model=STABLE.model, bento=STABLE.bento)
    ctx.released(env, STABLE, "direct", entry)


def healed(ctx: ReleaseContext) -> list[tuple[str, str]]:
    return [
        (e.env or "", e.details["heal"]) for e in ctx.ledger.entries(ctx.name) if e.kind == "healed"
    ]


def test_what_runs_as_recorded_is_left_alone(ctx: ReleaseContext) -> None:
    assert look(ctx, "staging").findings == ()  # never released, nothing runs
    released(ctx, "staging")
    assert expected_release(ctx.ledger.store, "credit", "staging") == STABLE
    result = look(ctx, "staging")
    assert (result.findings, result.problems, result.busy) == ((), (), "")
    assert healed(ctx) == []


def test_a_canary_nobody_drives_is_taken_out(ctx: ReleaseContext) -> None:
    released(ctx, "production")
    deploy(ctx.ws, ctx.spec_file, "production", canary=True)  # and no run drives it
    result = look(ctx, "production")
    assert [f.heal for f in result.findings] == [Heal.STRAY_CANARY]
    target = target_for(ctx.spec, "production", ctx.ws)
    assert set(target.state().slots) == {Slot.STABLE}
    assert target.state().weights == {Slot.STABLE: 100}
    assert healed(ctx) == [("production", "stray-canary")]
    assert look(ctx, "production").findings == ()


def test_weights_edited_by_hand_are_set_back(ctx: ReleaseContext) -> None:
    released(ctx, "production")
    target = target_for(ctx.spec, "production", ctx.ws)
    state_file = target.config.state_file  # type: ignore[attr-defined]  # the memory target's
    desired = json.loads(state_file.read_text(encoding="utf-8"))
    desired["weights"] = {"stable": 60}  # as a hand edit leaves it
    state_file.write_text(json.dumps(desired), encoding="utf-8")
    assert observe(target, in_flight=False).weights == {"stable": 60}
    result = look(ctx, "production")
    assert [(f.heal, f.why) for f in result.findings] == [
        (Heal.WEIGHTS, "traffic is stable 60%, not stable 100%")
    ]
    assert target.state().weights == {Slot.STABLE: 100}
    assert healed(ctx) == [("production", "weights")]


def test_an_environment_another_run_holds_is_skipped(ctx: ReleaseContext) -> None:
    released(ctx, "production")
    deploy(ctx.ws, ctx.spec_file, "production", canary=True)
    holding, done = threading.Event(), threading.Event()

    def apply_running() -> None:
        with environment_lock(ctx.ws, "credit", "production", 5, lambda _: None, "apply"):
            holding.set()
            done.wait(10)

    other = threading.Thread(target=apply_running)
    other.start()
    try:
        assert holding.wait(10)
        result = look(ctx, "production")
    finally:
        done.set()
        other.join()
    assert result.findings == ()
    assert "another run holds credit/production (apply on" in result.busy
    assert Slot.CANARY in target_for(ctx.spec, "production", ctx.ws).state().slots
    assert open_store(ctx.ws.state_url).rollout("credit", "production") is None
