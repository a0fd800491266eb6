"""What drifted in one environment, and what heals it: pure over what runs (`Observed`) and
the release the state store says should serve (`expected`), tested on literals.

Drift is anything the running system does that no run of Shipyard asked for: a stable server
that stopped, a route that no longer answers, traffic weights edited by hand, a canary left
with nobody analysing it, or another release in the stable slot than the one recorded. A
rollout in flight is its run's to drive, so nothing is healed under it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Heal(StrEnum):
    """What the agent does about one drift (in this order)."""

    STRAY_CANARY = "stray-canary"  # a canary nobody drives: all traffic back on stable, removed
    REDEPLOY = "redeploy"  # the stable slot runs another release: the recorded one back
    RESTART = "restart"  # the stable server does not answer: started again
    WEIGHTS = "weights"  # traffic is not all on stable: set back
    ROUTE = "route"  # the endpoint does not answer while stable does: routing rewritten


@dataclass(frozen=True)
class Observed:
    """One environment as it runs."""

    slots: dict[str, str] = field(default_factory=dict)  # slot -> the bento it runs
    weights: dict[str, int] = field(default_factory=dict)  # slot -> % of traffic
    stable_ready: bool = False
    endpoint_ready: bool = False
    in_flight: bool = False  # a rollout's run is driving it now


@dataclass(frozen=True)
class Finding:
    heal: Heal
    why: str


def assess(expected: str | None, observed: Observed) -> list[Finding]:
    """The heals that bring `observed` back to the release `expected` (a bento; None when
    nothing was ever released here), at most one of each kind, in the order they are done."""
    if observed.in_flight or (expected is None and not observed.slots):
        return []
    findings: list[Finding] = []
    stable = observed.slots.get("stable")
    if "canary" in observed.slots:
        findings.append(
            Finding(
                Heal.STRAY_CANARY, f"a canary ({observed.slots['canary']}) runs with no rollout"
            )
        )
    if expected is not None and stable != expected:
        running = f"runs {stable}" if stable else "is gone"
        findings.append(Finding(Heal.REDEPLOY, f"the stable slot {running}, not {expected}"))
    elif stable is not None and not observed.stable_ready:
        findings.append(Finding(Heal.RESTART, f"the stable server ({stable}) does not answer"))
    if stable is None and expected is None:
        return findings
    others = {slot: w for slot, w in observed.weights.items() if slot != "stable" and w}
    if "canary" not in observed.slots and (others or observed.weights.get("stable") != 100):
        shown = ", ".join(f"{slot} {w}%" for slot, w in sorted(observed.weights.items()))
        findings.append(Finding(Heal.WEIGHTS, f"traffic is {shown or 'unrouted'}, not stable 100%"))
    elif observed.stable_ready and not observed.endpoint_ready and not findings:
        findings.append(Finding(Heal.ROUTE, "the endpoint does not answer while stable does"))
    return findings
