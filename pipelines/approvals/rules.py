"""Who approved what: approvals bound to the exact spec a reviewer read, counted per rule.

An approval names the reviewer and the spec digest it was given for: the Git blob SHA-1 of
the spec file, the same value `git hash-object` prints and GitHub's contents API returns, so
a review on GitHub and a local `shipyard approve` are compared the same way. An approval
counts for a rule only when it is for the current digest (any later edit makes it stale), is
not the change author's own, and comes from someone the rule lists. Pure: tested on literals.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from validators.spec.model import Approval as Rule


@dataclass(frozen=True)
class Approval:
    who: str  # "@login"
    digest: str  # blob SHA-1 of the spec file it was given for
    source: str  # "github review 1234", "shipyard approve", "--approved-by"
    at: str = ""  # ISO time, when known
    env: str | None = None  # None: any environment of the spec
    reason: str = ""
    gate: str | None = (
        None  # a waiver of this gate (pipelines/approvals/waivers.py), not an approval
    )


@dataclass(frozen=True)
class RuleVerdict:
    rule: Rule
    counted: tuple[str, ...]
    ignored: tuple[str, ...]  # "@x: stale (given for 1a2b3c4, the spec is now 5d6e7f8)"

    @property
    def met(self) -> bool:
        return len(self.counted) >= self.rule.required

    def describe(self, env: str) -> str:
        scope = f" for the {self.rule.gate} gate" if self.rule.gate else ""
        text = (
            f"{env} needs {self.rule.required} approval(s){scope} from "
            f"{', '.join(self.rule.from_)} of this exact spec; got {len(self.counted)}"
        )
        return text + (f" (not counted: {'; '.join(self.ignored)})" if self.ignored else "")


def spec_digest(text: str | bytes) -> str:
    """The Git blob SHA-1 of a file's content (`git hash-object FILE`)."""
    data = text.encode() if isinstance(text, str) else text
    return hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()


def handle(who: str) -> str:
    return "@" + who.strip().lstrip("@").lower()


def evaluate(
    rule: Rule,
    approvals: Sequence[Approval],
    *,
    env: str,
    digest: str,
    author: str | None,
    member_of: Callable[[str, str], bool] = lambda _team, _who: False,
) -> RuleVerdict:
    """Count `approvals` for `rule` in `env`; `member_of(team, who)` resolves `@org/team`."""
    allowed = [handle(a) for a in rule.from_]
    counted: dict[str, None] = {}
    ignored: list[str] = []
    for approval in approvals:
        who = handle(approval.who)
        if approval.env not in (None, env) or approval.gate != rule.gate or who in counted:
            continue
        if author and who == handle(author):
            ignored.append(f"{who}: the change's author")
        elif approval.digest != digest:
            ignored.append(
                f"{who}: stale (given for spec {approval.digest[:7]}, the spec is now {digest[:7]})"
            )
        elif who not in allowed and not any(
            "/" in team and member_of(team, who) for team in allowed
        ):
            ignored.append(f"{who}: not one of {', '.join(rule.from_)}")
        else:
            counted[who] = None
    return RuleVerdict(rule, tuple(counted), tuple(dict.fromkeys(ignored)))


def missing_approvals(
    rules: Sequence[Rule],
    approvals: Sequence[Approval],
    *,
    env: str,
    digest: str,
    author: str | None,
    member_of: Callable[[str, str], bool] = lambda _team, _who: False,
) -> tuple[str, list[RuleVerdict]]:
    """Empty text when every environment rule (not gate waivers) is met, else what is
    missing; and the verdict of each rule."""
    verdicts = [
        evaluate(r, approvals, env=env, digest=digest, author=author, member_of=member_of)
        for r in rules
        if not r.gate
    ]
    unmet = [v.describe(env) for v in verdicts if not v.met]
    return "; ".join(unmet), verdicts
