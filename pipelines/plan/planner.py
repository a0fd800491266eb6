"""What a change to the specs would do, decided without I/O: `build_plan(before, after,
running)` compares the specs at two revisions with what runs now and says, per spec and per
environment, what changes, how it rolls out, where a rollback goes and who must approve.

Tested on literal specs (tests/pipelines/plan/test_planner.py); the Git reading, the gates and the
Pulumi previews are gathered around it by pipelines/plan/offline.py.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from validators.spec.durations import format_duration
from validators.spec.model import Approval, ModelDeployment
from validators.spec.resolved import ResolvedEnvironment, with_defaults

Change = Literal["added", "changed", "removed", "unchanged"]
Action = Literal["deploy", "update", "remove", "none"]
MISSING = "(not set)"


@dataclass(frozen=True)
class FieldChange:
    """One spec field that differs; `path` as in validation findings (`service.workers`)."""

    path: str
    before: Any
    after: Any


@dataclass(frozen=True)
class EnvPlan:
    name: str
    target: str
    action: Action
    model: str | None  # the model the spec asks for after the change (None: removed)
    running: str | None  # what runs there now (None: nothing, or not known)
    strategy: str  # "canary" or "direct"
    steps: tuple[str, ...]  # "10%", "pause 30s", ... ("100%" for direct)
    rollback_to: str | None  # what a failed release returns to
    approvals: tuple[str, ...]  # "1 of @risk-ml, @compliance" per rule
    changes: tuple[FieldChange, ...] = ()


@dataclass(frozen=True)
class SpecPlan:
    name: str
    path: str
    change: Change
    changes: tuple[FieldChange, ...] = ()  # fields outside `environments`
    envs: tuple[EnvPlan, ...] = ()
    renamed_from: str | None = None

    @property
    def approvers(self) -> tuple[str, ...]:
        """Everyone whose approval some changing environment accepts, in spec order."""
        seen: dict[str, None] = {}
        for env in self.envs:
            if env.action != "none":
                for rule in env.approvals:
                    for who in rule.split(" of ", 1)[1].split(", "):
                        seen.setdefault(who, None)
        return tuple(seen)


@dataclass(frozen=True)
class SpecSide:
    """A spec file at one revision."""

    path: str
    spec: ModelDeployment


@dataclass(frozen=True)
class Plan:
    specs: tuple[SpecPlan, ...]
    unchanged: int = 0  # specs in the repository the change does not touch
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def changed(self) -> tuple[SpecPlan, ...]:
        return tuple(s for s in self.specs if s.change != "unchanged")


def build_plan(
    before: Mapping[str, SpecSide],
    after: Mapping[str, SpecSide],
    running: Mapping[tuple[str, str], str | None],
    unchanged: int = 0,
) -> Plan:
    """`before`/`after` map spec names to the spec at base and head; `running` maps
    (spec, environment) to the model URI its stable slot serves now."""
    plans = [
        _spec_plan(before.get(name), after.get(name), running)
        for name in sorted(set(before) | set(after))
    ]
    return Plan(tuple(plans), unchanged)


def _spec_plan(
    old: SpecSide | None, new: SpecSide | None, running: Mapping[tuple[str, str], str | None]
) -> SpecPlan:
    side = new or old
    assert side is not None
    name = side.spec.metadata.name
    old_data = _dump(old.spec) if old else {}
    new_data = _dump(new.spec) if new else {}
    old_envs = _by_name(old_data.pop("environments", []))
    new_envs = _by_name(new_data.pop("environments", []))
    spec_changes = tuple(diff_fields(old_data, new_data)) if old and new else ()
    envs = []
    resolved_new = {e.name: e for e in with_defaults(new.spec).environments} if new else {}
    resolved_old = {e.name: e for e in with_defaults(old.spec).environments} if old else {}
    for env_name in [*resolved_new, *(n for n in resolved_old if n not in resolved_new)]:
        env_changes = tuple(
            diff_fields(
                old_envs.get(env_name, {}), new_envs.get(env_name, {}), f"environments[{env_name}]"
            )
        )
        envs.append(
            _env_plan(
                resolved_new.get(env_name) or resolved_old[env_name],
                removed=env_name not in resolved_new,
                model=new.spec.model.uri if new else None,
                running=running.get((name, env_name)),
                changed=bool(spec_changes or env_changes) or not old,
                changes=env_changes,
            )
        )
    if old is None:
        change: Change = "added"
    elif new is None:
        change = "removed"
    else:
        change = "changed" if spec_changes or any(e.changes for e in envs) else "unchanged"
    renamed = old.path if old and new and old.path != new.path else None
    return SpecPlan(name, side.path, change, spec_changes, tuple(envs), renamed)


def _env_plan(
    env: ResolvedEnvironment,
    *,
    removed: bool,
    model: str | None,
    running: str | None,
    changed: bool,
    changes: tuple[FieldChange, ...],
) -> EnvPlan:
    if removed or model is None:
        action: Action = "remove"
    elif running is None:
        action = "deploy"
    elif changed or running != model:
        action = "update"
    else:
        action = "none"
    canary = env.rollout.strategy == "canary" and running is not None and not removed
    return EnvPlan(
        name=env.name,
        target=env.target,
        action=action,
        model=None if removed else model,
        running=running,
        strategy="canary" if canary else "direct",
        steps=rollout_steps(env) if canary else ("100%",),
        rollback_to=running,
        approvals=tuple(approval_rule(rule) for rule in env.approvals),
        changes=changes,
    )


def rollout_steps(env: ResolvedEnvironment) -> tuple[str, ...]:
    """The canary steps as a reviewer reads them: `10%`, `pause 30s`, `analysis 1m`."""
    steps = []
    for step in env.rollout.steps:
        if step.weight is not None:
            steps.append(f"{step.weight}%")
        elif step.pause_s is not None:
            steps.append(f"pause {format_duration(step.pause_s)}")
        elif step.analysis_s is not None:
            steps.append(f"analysis {format_duration(step.analysis_s)}")
    return tuple(steps)


def approval_rule(rule: Approval) -> str:
    scope = f" (waives the {rule.gate} gate)" if rule.gate else ""
    return f"{rule.required}{scope} of {', '.join(rule.from_)}"


def diff_fields(before: Any, after: Any, path: str = "") -> list[FieldChange]:
    """Leaf-by-leaf differences of two spec fragments; lists of named objects are matched by
    name (`environments[production]`), other lists compared whole."""
    if isinstance(before, dict) and isinstance(after, dict):
        out: list[FieldChange] = []
        for key in [*before, *(k for k in after if k not in before)]:
            sub = f"{path}{key}" if str(key).startswith("[") else f"{path}.{key}" if path else key
            out += diff_fields(before.get(key, MISSING), after.get(key, MISSING), sub)
        return out
    if _named(before) and _named(after):
        return diff_fields(_indexed(before), _indexed(after), path)
    return [] if before == after else [FieldChange(path, before, after)]


def _named(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, dict) and "name" in v for v in value)


def _by_name(items: list[dict[str, Any]]) -> dict[str, Any]:
    return {item["name"]: item for item in items}


def _indexed(items: list[dict[str, Any]]) -> dict[str, Any]:
    return {f"[{item['name']}]": item for item in items}


def _dump(spec: ModelDeployment) -> dict[str, Any]:
    data: dict[str, Any] = spec.model_dump(mode="json", by_alias=True, exclude_none=True)
    return data
