"""One environment's drift, observed on its target and healed through the same target calls
a release makes, each heal one ledger entry (`healed`). Runs under the environment's lock and
never waits for it: a run holding it (an apply, a rollback, an operator) is left alone until
the next interval."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from pipelines.agent.reconcile import Finding, Heal, Observed, assess
from pipelines.audit.ledger import LedgerKind
from pipelines.core.targets import target_for
from pipelines.release.rollback import recover
from pipelines.release.serving import slot_ready
from pipelines.release.verify import verify_artifact
from pipelines.state.locks import LockTimeoutError, environment_lock
from stacks.errors import StackError
from stacks.reach.errors import ReachError
from stacks.target import Release, Slot, Target

if TYPE_CHECKING:
    from pipelines.release.context import ReleaseContext
    from pipelines.state.store import Store


@dataclass(frozen=True)
class Healed:
    """What one look at an environment found and did."""

    env: str
    findings: tuple[Finding, ...] = ()
    problems: tuple[str, ...] = ()  # heals that failed (tried again next interval)
    busy: str = ""  # who held the environment's lock, when the look was skipped


def observe(target: Target, in_flight: bool) -> Observed:
    state = target.state()
    slots = {slot.value: s.release.bento for slot, s in state.slots.items()}
    stable_ready = endpoint_ready = False
    if Slot.STABLE in state.slots:
        stable_ready = slot_ready(target, Slot.STABLE)
        endpoint_ready = state.endpoint is not None and slot_ready(target, None)
    weights = {slot.value: w for slot, w in state.weights.items()}
    return Observed(slots, weights, stable_ready, endpoint_ready, in_flight)


def expected_release(store: Store, spec: str, env: str) -> Release | None:
    """The release the environment's history says serves it now (None: never released)."""
    history = store.releases(spec, env)
    if not history:
        return None
    last = history[-1]
    return Release(str(last["bento"]), str(last["model"]))


def look(ctx: ReleaseContext, env: str) -> Healed:
    """Observe `env` of the spec and heal what drifted."""
    try:
        with environment_lock(ctx.ws, ctx.name, env, 0.0, lambda _: None, "agent heal"):
            return _look(ctx, env)
    except LockTimeoutError as busy:
        return Healed(env, busy=busy.message)


def _look(ctx: ReleaseContext, env: str) -> Healed:
    store = ctx.ledger.store
    target = target_for(ctx.spec, env, ctx.ws)
    expected = expected_release(store, ctx.name, env)
    left = store.rollout(ctx.name, env)  # under the lock: its run is gone (or it is ours)
    findings = assess(expected.bento if expected else None, observe(target, in_flight=False))
    if left and not findings:
        findings = [Finding(Heal.STRAY_CANARY, "a dead run's rollout record was left")]
    problems: list[str] = []
    for finding in findings:
        try:
            _heal(ctx, env, target, finding, expected)
        except (StackError, ReachError) as exc:
            problems.append(f"{finding.heal}: {exc}")
            continue
        ctx.record(LedgerKind.HEALED, env, heal=finding.heal.value, why=finding.why)
        ctx.say(f"{ctx.name}/{env}: healed {finding.heal} — {finding.why}")
    return Healed(env, tuple(findings), tuple(problems))


def _heal(
    ctx: ReleaseContext, env: str, target: Target, finding: Finding, expected: Release | None
) -> None:
    if finding.heal == Heal.STRAY_CANARY:
        recover(ctx, env, target)
    elif finding.heal == Heal.REDEPLOY and expected is not None:
        refused = verify_artifact(ctx, env, expected)
        if refused is not None:
            raise StackError(f"the recorded release {expected.bento} is refused: {refused.detail}")
        target.deploy(Slot.STABLE, expected)
        target.set_weights({Slot.STABLE: 100})
    elif finding.heal in (Heal.RESTART, Heal.ROUTE):
        target.repair()
    elif finding.heal == Heal.WEIGHTS:
        target.set_weights({Slot.STABLE: 100})
        target.repair()
