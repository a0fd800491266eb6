"""The direct strategy (and every first release): deploy to the stable slot, run the serving
gates on the environment's endpoint, and keep it — or bring back what ran before."""

from __future__ import annotations

import time

from pipelines.audit.ledger import LedgerKind
from pipelines.core.outcomes import Outcome
from pipelines.release.alias import set_alias
from pipelines.release.context import EnvRelease
from pipelines.release.outcome import EnvOutcome
from stacks.target import Release, Slot


def direct_release(er: EnvRelease, previous: Release | None) -> EnvOutcome:
    from pipelines.release.serving import serving_gates

    target, release, started = er.target, er.release, time.monotonic()
    er.say(f"{er.where}: deploying {release.model} ({release.bento})")
    slot = target.deploy(Slot.STABLE, release)
    er.record(LedgerKind.DEPLOY, slot="stable", model=release.model, bento=release.bento)
    endpoint = target.state().endpoint or slot.url
    results = serving_gates(er.ctx.spec, target.slot_client(None), er.rows)
    failed = [r for r in results if not r.passed]
    er.record(LedgerKind.SERVING, passed=not failed, results=[r.to_json() for r in results])
    for r in results:
        er.say(f"  {'ok  ' if r.passed else 'FAIL'} serving {r.name}: {r.summary()}")
    if failed:
        reason = "; ".join(f"serving {r.name}: {r.summary()}" for r in failed)
        if previous is not None:
            target.deploy(Slot.STABLE, previous)
        else:  # a first deploy that fails its gates leaves nothing running
            target.destroy()
        restored = previous.model if previous else None
        er.record(LedgerKind.ROLLBACK, model=release.model, reason=reason, restored=restored)
        er.say(
            f"{er.where}: serving gates failed — "
            f"{'restored ' + previous.model if previous else 'removed the new deployment'}"
        )
        seconds = time.monotonic() - started
        return EnvOutcome(
            er.env.name, Outcome.ROLLED_BACK, release.model, reason, seconds, restored
        )
    set_alias(er.ctx.ws, release, er.env.name)
    entry = er.record(
        LedgerKind.PROMOTED, model=release.model, bento=release.bento, strategy="direct"
    )
    er.ctx.released(er.env.name, release, "direct", entry)
    er.say(f"{er.where}: {release.model} is live at {endpoint}")
    return EnvOutcome(er.env.name, Outcome.PROMOTED, release.model, "", time.monotonic() - started)
