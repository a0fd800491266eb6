"""The demo on the embedded default: a credit-risk model service taken through Shipyard —
set up, offline gates, a release to production, a bad canary rolled back automatically, a
biased model blocked before staging, drift in live traffic caught by the monitor — then what
runs, and how to call it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from pipelines.core.errors import UsageError
from pipelines.core.outcomes import Outcome
from pipelines.core.workspace import Workspace

DEMO_SPEC = Path("specs/credit-risk.yaml")
REVIEWER = "@risk-ml"
TRAFFIC_RPS = 60.0


def require_checkout(ws: Workspace) -> None:
    """The demo runs in a Shipyard checkout (its spec, suite and data pointers)."""
    if not (ws.root / DEMO_SPEC).exists():
        raise UsageError(
            f"{DEMO_SPEC} is not in {ws.root}",
            hint="run the demo from a Shipyard checkout (or pass -C with its path)",
        )


def run_demo(ws: Workspace, say: Callable[[str], None], keep_serving: bool = False) -> int:
    """0 when every step did what the story says it should."""
    from pipelines.demo.gates import gate_variants
    from pipelines.demo.init import init_workspace
    from pipelines.demo.story import finish, release, watch_drift

    require_checkout(ws)
    say("== 1. set up the embedded default (.shipyard/): MLflow, DVC, data, models")
    init = init_workspace(ws, say)
    versions = init.versions
    say("\n== 2. offline gates of every demo model (specs/credit-risk.yaml)")
    as_expected = gate_variants(ws, versions, say)
    try:
        say(f"\n== 3. release v{versions['good']} (good) through staging to production")
        as_expected &= release(
            ws, versions["good"], "good", {Outcome.PROMOTED, Outcome.UNCHANGED}, say
        )
        say(
            f"\n== 4. release v{versions['faulty']}: fine offline and in staging, fails on ~3% "
            "of live traffic — the canary must roll back"
        )
        as_expected &= release(ws, versions["faulty"], "faulty", {Outcome.ROLLED_BACK}, say)
        say(f"\n== 5. release v{versions['biased']} (biased): must be blocked before staging")
        as_expected &= release(ws, versions["biased"], "biased", {Outcome.BLOCKED}, say)
        say(
            "\n== 6. drifted applicants reach production: the monitor must catch the drift and "
            "propose a retrain"
        )
        as_expected &= watch_drift(ws, say)
    finally:
        say("\n== 7. what runs now")
        finish(ws, keep_serving, say)
    say("\nthe story went as expected" if as_expected else "\nSOMETHING DID NOT GO AS EXPECTED")
    return 0 if as_expected else 1
