"""`shipyard explain SPEC --env ENV`: the story of each release of an environment, read from
the ledger — which commit and spec digest, which model (run, training data), which data
revision, which Bento, which gate results, who approved, when, and how it ended.

`releases(entries, spec, env)` is pure (tested on literal entries); the CLI adds the model's
training data from the MLflow registry and prints.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from pipelines.audit.ledger import LedgerEntry, LedgerKind


@dataclass
class ReleaseStory:
    model: str
    bento: str
    promoted_at: float
    strategy: str
    build: dict[str, Any] = field(default_factory=dict)  # the Bento's labels
    gates: dict[str, Any] = field(default_factory=dict)
    approval: dict[str, Any] = field(default_factory=dict)
    waivers: list[dict[str, Any]] = field(default_factory=list)  # failed gates let through
    signature: dict[str, Any] = field(default_factory=dict)  # the Bento's, as verified
    ended: str = ""  # "" while it runs; else "replaced by ..." or "rolled back ..."
    seq: int = 0


def releases(entries: list[LedgerEntry], spec: str, env: str) -> list[ReleaseStory]:
    """Every promotion of `spec` in `env`, oldest first, with what led to it."""
    mine = [e for e in entries if e.spec == spec]
    out: list[ReleaseStory] = []
    for index, entry in enumerate(mine):
        if entry.env == env and entry.kind == LedgerKind.PROMOTED:
            model, bento = entry.details.get("model", ""), entry.details.get("bento", "")
            before = mine[:index]
            release = ReleaseStory(
                model,
                bento,
                entry.ts,
                str(entry.details.get("strategy", "")),
                build=_last(before, "build", None, bento=bento).get("labels", {}),
                gates=_last(before, "gates", None, model=model),
                approval=_last(before, "approval", env, model=model),
                waivers=_waivers(before, env, model),
                signature=_signature(before, env, bento),
                seq=entry.seq,
            )
            if out and not out[-1].ended:
                out[-1].ended = f"replaced by {model} at {_when(entry.ts)}"
            out.append(release)
        elif (
            entry.env == env
            and entry.kind == LedgerKind.ROLLBACK
            and entry.details.get("requested")
            and out
            and not out[-1].ended
        ):
            to = entry.details.get("model")
            out[-1].ended = f"rolled back by request at {_when(entry.ts)} to {to}"
    return out


def _last(entries: list[LedgerEntry], kind: str, env: str | None, **match: str) -> dict[str, Any]:
    for entry in reversed(entries):
        if (
            entry.kind == kind
            and (env is None or entry.env == env)
            and all(entry.details.get(k) == v for k, v in match.items())
        ):
            return {**entry.details, "at": entry.ts}
    return {}


def _signature(entries: list[LedgerEntry], env: str, bento: str) -> dict[str, Any]:
    verified = _last(entries, "verified", env, bento=bento)
    if verified:
        return {**verified, "verified": True}
    return dict(_last(entries, "build", None, bento=bento).get("signature") or {})


def _waivers(entries: list[LedgerEntry], env: str, model: str) -> list[dict[str, Any]]:
    """The waivers recorded for `model` in `env` since its latest offline gate run."""
    since = max(
        (e.seq for e in entries if e.kind == LedgerKind.GATES and e.details.get("model") == model),
        default=0,
    )
    return [
        {**e.details, "at": e.ts}
        for e in entries
        if e.kind == LedgerKind.WAIVER
        and e.env == env
        and e.seq > since
        and e.details.get("model") == model
    ]


def _when(ts: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(ts))


def running(stories: list[ReleaseStory]) -> ReleaseStory | None:
    """The release that runs now: the newest, unless it ended (rolled back by request)."""
    return stories[-1] if stories and not stories[-1].ended else None


def render(spec: str, env: str, stories: list[ReleaseStory], training: dict[str, str]) -> str:
    if not stories:
        return f"{spec}/{env}: no release recorded in the ledger"
    lines = []
    now = running(stories)
    for release in reversed(stories):
        labels, gates, approval = release.build, release.gates, release.approval
        state = "RUNNING NOW" if release is now else release.ended
        lines += [
            f"{spec}/{env}: {release.model} — {state or 'ended'}",
            f"  promoted   {_when(release.promoted_at)} ({release.strategy or 'direct'}; "
            f"ledger #{release.seq})",
            f"  commit     {labels.get('git-sha', 'unknown')}; spec digest (model, data, "
            f"service) {labels.get('shipyard.spec-digest', 'unknown')}",
            f"  model      {release.model}, MLflow run {labels.get('shipyard.model-run', '?')}; "
            f"trained on {training.get(release.model, 'unknown')}",
            f"  data       {labels.get('shipyard.data-rev', 'unknown')}",
            f"  bento      {release.bento}",
            "  gates      "
            + (
                f"{'passed' if gates.get('passed') else 'FAILED'}"
                f"{' (cached)' if gates.get('cached') else ''} at {_when(gates['at'])}"
                if gates
                else "not recorded"
            ),
            *_waiver_lines(release.waivers),
            _signed_line(release.signature),
            "  approved   "
            + (
                f"by {', '.join(approval.get('approved_by') or []) or 'nobody'} "
                f"({', '.join(approval.get('sources') or []) or 'operator'}) of spec "
                f"{str(approval.get('digest') or '?')[:12]} at {_when(approval['at'])}"
                if approval
                else "no approval required"
            ),
            "",
        ]
    return "\n".join(lines).rstrip()


def _waiver_lines(waivers: list[dict[str, Any]]) -> list[str]:
    return [
        f"  waived     {w.get('gate')} gate by {'; '.join(w.get('reasons') or [])} "
        f"(failed: {'; '.join(w.get('failed') or [])}) of spec {str(w.get('digest') or '?')[:12]}"
        for w in waivers
    ]


def _signed_line(signature: dict[str, Any]) -> str:
    if not signature:
        return "  signed     not recorded"
    verified = ", verified before deploy" if signature.get("verified") else ""
    return (
        f"  signed     signature sha256 {str(signature.get('signature', '?'))[:16]} "
        f"(key {signature.get('key', '?')}){verified}"
    )


def explain_json(
    spec: str, env: str, stories: list[ReleaseStory], training: dict[str, str]
) -> dict[str, Any]:
    """The same stories as one JSON object, newest release first, as the text lists them."""
    now = running(stories)
    return {
        "spec": spec,
        "env": env,
        "running": now.model if now else None,
        "releases": [_story_json(r, r is now, training) for r in reversed(stories)],
    }


def _story_json(release: ReleaseStory, now: bool, training: dict[str, str]) -> dict[str, Any]:
    labels = release.build
    return {
        "model": release.model,
        "bento": release.bento,
        "running": now,
        "ended": release.ended or None,
        "promoted_at": release.promoted_at,
        "strategy": release.strategy or "direct",
        "ledger_seq": release.seq,
        "commit": labels.get("git-sha"),
        "spec_digest": labels.get("shipyard.spec-digest"),
        "model_run": labels.get("shipyard.model-run"),
        "data_rev": labels.get("shipyard.data-rev"),
        "trained_on": training.get(release.model),
        "labels": labels,
        "gates": release.gates,
        "waivers": release.waivers,
        "signature": release.signature,
        "approval": release.approval,
    }
