"""Waivers: a failed offline gate let through by the people a waiver rule names.

A waiver rule is an environment approval rule with `gate:` (`{required: 1, from:
["@compliance"], gate: fairness}`). A failed check of that gate may go on to the rule's
environment, and to the environments before it on the promotion path, once the rule is met by
waivers: approvals *of that gate* (`shipyard approve --waive GATE --reason ...`, or a line
`/waive GATE: reason` in an approving pull-request review) bound to the current spec digest,
from someone the rule lists, not the change's author, each with a reason. Environments after
the rule's stay closed to the failed model. Serving gates are measured on a running server,
not offline: they are never waived.

`decide` is pure (tested on literals, tests/pipelines/approvals/test_waivers.py); apply asks
it before building and before each environment, and the ledger records each waiver used.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from pipelines.approvals.rules import Approval, evaluate, handle
from validators.gates.result import Gate, GateResult
from validators.spec.model import Environment

# The spec's gate groups a failed check belongs to (a champion check is a `model` gate's
# `max_regression`).
FAMILY = {
    "data": "data",
    "model": "model",
    "champion": "model",
    "fairness": "fairness",
    "drift": "drift",
}
WAIVABLE = tuple(sorted(set(FAMILY.values())))
REVIEW_WAIVER = re.compile(r"^\s*/waive\s+([a-z]+)\s*[:\-]?\s*(.*?)\s*$", re.MULTILINE)


@dataclass(frozen=True)
class Failure:
    """One failed offline check, as the spec's gate group it belongs to."""

    family: str  # data, model, fairness, drift
    check: str  # "fairness: sex: demographic_parity_difference 0.21 > 0.1"
    env: str | None = None  # a champion check concerns one environment; None: all


@dataclass(frozen=True)
class GateWaiver:
    """A met waiver rule: `family` may go on to `env` and the environments before it."""

    family: str
    env: str
    by: tuple[str, ...]
    reasons: tuple[str, ...]  # "@who: why", one per counted waiver


@dataclass(frozen=True)
class WaiverDecision:
    failures: tuple[Failure, ...]
    waivers: tuple[GateWaiver, ...]  # the met rules
    order: tuple[str, ...]  # the spec's environments, in promotion order
    unmet: tuple[str, ...] = ()  # why each waiver rule of a failed gate is not met

    @property
    def opens_first(self) -> bool:
        """Every failed check is waived for some environment: the release can at least
        enter the first one (how far it goes, apply decides per environment)."""
        return bool(self.order) and not self.blocking(self.order[0])

    def covering(self, env: str) -> list[GateWaiver]:
        """The met rules that open `env`: those of `env` and of environments after it."""
        later = self.order[self.order.index(env) :] if env in self.order else (env,)
        return [w for w in self.waivers if w.env in later]

    def blocking(self, env: str) -> list[Failure]:
        """The failed checks that keep the release out of `env`."""
        covered = {w.family for w in self.covering(env)}
        return [f for f in self.failures if f.env in (None, env) and f.family not in covered]

    def used(self, env: str) -> list[GateWaiver]:
        """The waivers that let the release into `env` (one per failed gate group)."""
        families = {f.family for f in self.failures if f.env in (None, env)}
        chosen: dict[str, GateWaiver] = {}
        for waiver in self.covering(env):
            if waiver.family in families:
                chosen.setdefault(waiver.family, waiver)
        return list(chosen.values())

    def explain_block(self, env: str) -> str:
        """What fails for `env` and how it could be waived."""
        blocking = self.blocking(env)
        text = "; ".join(f.check for f in blocking)
        hints = [self.hint(family, env) for family in dict.fromkeys(f.family for f in blocking)]
        return text + "".join(f" — {h}" for h in hints)

    def hint(self, family: str, env: str) -> str:
        """How a failed gate group could be waived for `env` (or why it cannot)."""
        if family not in WAIVABLE:
            return f"the {family} gate cannot be waived"
        open_to = list(self.order[self.order.index(env) :]) if env in self.order else []
        unmet = [u for u in self.unmet if f"the {family} gate" in u]
        if not unmet:
            where = ", ".join(open_to) or env
            return (
                f"no waiver rule for the {family} gate in {where}: add "
                f"`{{required: 1, from: [...], gate: {family}}}` to an environment's approvals "
                "to allow one"
            )
        return (
            f"waivable: {'; '.join(unmet)} (`shipyard approve SPEC --env ENV --waive {family} "
            f"--reason WHY`, or an approving review with the line `/waive {family}: WHY`)"
        )


def failures(results: Sequence[GateResult], envs: Sequence[str]) -> list[Failure]:
    """The failed checks of a gate run; a champion check named `production: ...` concerns
    the production environment only."""
    out = []
    for result in results:
        if result.passed and not result.error:
            continue
        family = FAMILY.get(result.gate, result.gate)
        env = None
        if result.gate == Gate.CHAMPION:
            prefix = result.name.partition(":")[0]
            env = prefix if prefix in envs else None
        out.append(Failure(family, f"{result.gate}: {result.summary()}", env))
    return out


def decide(
    results: Sequence[GateResult],
    environments: Sequence[Environment],
    approvals: Sequence[Approval],
    *,
    digest: str,
    author: str | None,
    member_of: Callable[[str, str], bool] = lambda _team, _who: False,
) -> WaiverDecision:
    """Which failed checks are waived, and for which environments."""
    order = tuple(e.name for e in environments)
    failed = failures(results, order)
    families = {f.family for f in failed}
    waivers: list[GateWaiver] = []
    unmet: list[str] = []
    for env in environments:
        for rule in env.approvals or ():
            if rule.gate not in families or rule.gate not in WAIVABLE:
                continue
            mine = [a for a in approvals if a.gate == rule.gate]
            reasoned = [a for a in mine if a.reason.strip()]
            verdict = evaluate(
                rule, reasoned, env=env.name, digest=digest, author=author, member_of=member_of
            )
            if verdict.met:
                why = {handle(a.who): a.reason.strip() for a in reasoned}
                reasons = tuple(f"{who}: {why.get(who, '')}" for who in verdict.counted)
                waivers.append(GateWaiver(rule.gate, env.name, verdict.counted, reasons))
                continue
            unreasoned = [
                f"{a.who}: no reason given"
                for a in mine
                if not a.reason.strip() and a.env in (None, env.name)
            ]
            ignored = "; ".join([*verdict.ignored, *unreasoned])
            unmet.append(
                f"{env.name} lets the {rule.gate} gate be waived by {rule.required} of "
                f"{', '.join(rule.from_)}; got {len(verdict.counted)}"
                + (f" (not counted: {ignored})" if ignored else "")
            )
    return WaiverDecision(tuple(failed), tuple(waivers), order, tuple(unmet))


def review_waivers(body: str) -> list[tuple[str, str]]:
    """The `/waive GATE: reason` lines of a review's text, as (gate, reason)."""
    return [(m.group(1), m.group(2)) for m in REVIEW_WAIVER.finditer(body or "")]


def has_waiver_rules(environments: Sequence[Environment], results: Sequence[GateResult]) -> bool:
    """Whether any environment could waive one of the failed checks (worth asking for
    approvals at all)."""
    families = {f.family for f in failures(results, [e.name for e in environments])}
    return any(r.gate in families for e in environments for r in e.approvals or ())


def summary_lines(decision: WaiverDecision) -> list[str]:
    """Per failed gate group: who waived it and how far it may go, or how it could be."""
    lines = []
    first = decision.order[0] if decision.order else ""
    for family in dict.fromkeys(f.family for f in decision.failures):
        checks = "; ".join(f.check for f in decision.failures if f.family == family)
        given = [w for w in decision.waivers if w.family == family]
        if given:
            last = max(given, key=lambda w: decision.order.index(w.env))
            upto = decision.order[: decision.order.index(last.env) + 1]
            lines.append(f"✅ {checks} — WAIVED for {', '.join(upto)} by {'; '.join(last.reasons)}")
        else:
            hint = decision.hint(family, first) if first else "no environment"
            lines.append(f"❌ {checks} — {hint}")
    return lines
