"""Before anything is provisioned, the Bento and the models it packs are checked against their
signatures; a changed artifact is refused, recorded, and never deployed."""

from __future__ import annotations

import os

from pipelines.audit.ledger import LedgerKind
from pipelines.core.outcomes import Outcome
from pipelines.release.context import ReleaseContext
from pipelines.release.outcome import EnvOutcome
from stacks.target import Release


def verify_artifact(ctx: ReleaseContext, env: str, release: Release) -> EnvOutcome | None:
    """None when the signatures match (a `verified` entry); else a blocked outcome and a
    `refused` entry naming what changed."""
    from pipelines.build.bento import bentoml_env
    from pipelines.build.signing import SignatureError, verify_bento

    os.environ.update(bentoml_env(ctx.ws))
    try:
        verified = verify_bento(release.bento, ctx.ws.bentoml_home)
    except SignatureError as exc:
        ctx.record(
            LedgerKind.REFUSED, env, model=release.model, bento=release.bento, reason=exc.message
        )
        ctx.say(f"{ctx.name}/{env}: REFUSED — {exc.message}")
        return EnvOutcome(env, Outcome.BLOCKED, release.model, exc.message)
    ctx.record(LedgerKind.VERIFIED, env, model=release.model, **verified)
    ctx.say(
        f"{ctx.name}/{env}: signature of {release.bento} verified "
        f"(sha256 {verified['signature'][:12]}, key {verified['key']})"
    )
    return None
