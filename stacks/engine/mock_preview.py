"""Preview a stack program offline: run it under `pulumi.runtime.set_mocks` at each step of a
rollout and compare the resources each step registers with the step before.

Where a target has no cluster or account to preview against (no credentials, no resource
plugin), this says what every step would create, change or delete and the fields a reviewer
checks (images, replicas, weights), from the program itself. It never talks to a cloud: the
mocks echo the inputs back as outputs, so values only a provider knows (addresses, generated
ids) are absent. The same mocks drive the stack tests (tests/fakes/pulumi_mocks.py).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi

from stacks.desired import Desired
from stacks.target import PreviewSummary, Release, RolloutStepPreview, Slot

MOCK_NOTE = "previewed with Pulumi mocks"  # after why: "no cluster credentials (...): ..."
LIVE_NOTE = (
    "the first change by `pulumi preview` of the live stack; the rollout steps after it "
    "previewed with Pulumi mocks"
)
Program = Callable[[Desired], None]


@dataclass(frozen=True)
class Recorded:
    """One resource a program registered: type token, logical name, inputs as the engine
    receives them (camelCase keys, numbers as floats)."""

    type: str
    name: str
    inputs: dict[str, Any]


@dataclass(frozen=True)
class Described:
    """How a preview shows a resource: its kind, its name in the cloud, the fields that matter."""

    kind: str
    name: str
    fields: dict[str, str]
    rank: int = field(default=0, compare=False)  # review order: workload first, routing last


Describe = Callable[[Recorded], Described | None]  # None: not shown (providers)


class RecordingMocks(pulumi.runtime.Mocks):
    """Records each `new_resource`; outputs echo the inputs, and AWS resources without a
    name get one, as the provider's auto-naming would (`<resource name>-1a2b3c4`)."""

    def __init__(self) -> None:
        self.resources: list[Recorded] = []

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        self.resources.append(Recorded(args.typ, args.name, dict(args.inputs)))
        outputs = dict(args.inputs)
        if args.typ.startswith("aws:") and "name" not in outputs:
            outputs["name"] = f"{args.name}-1a2b3c4"
        return f"{args.name}-id", outputs

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], None]:
        raise NotImplementedError(f"the mocks answer no provider call ({args.token})")


def run_program(program: Callable[[], None], project: str = "shipyard-mock") -> list[Recorded]:
    """Run `program` to completion against fresh mocks; the resources it registered."""
    mocks = RecordingMocks()
    pulumi.runtime.set_mocks(mocks, project=project, stack="preview", preview=False)
    pulumi.runtime.test(program)()  # type: ignore[no-untyped-call]
    return mocks.resources


def plain(value: Any) -> Any:
    """Inputs with integral floats back to ints (the wire format has only doubles)."""
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [plain(item) for item in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def rollout_stages(
    current: Desired, slot: Slot, release: Release, weights: Sequence[int]
) -> list[tuple[str, Desired]]:
    """The desired states a release goes through, as apply drives a target: the deploy into
    `slot`, then (a canary beside a stable release) each traffic weight and the promotion."""
    slots = {**current.slots, slot.value: {"bento": release.bento, "model": release.model}}
    deployed = Desired(slots, dict(current.weights))
    if not any(deployed.weights.get(s, 0) for s in slots):
        deployed.weights = {slot.value: 100}
    deployed.weights.setdefault(slot.value, 0)
    stages = [(f"deploy {slot.value} {release.bento}", deployed)]
    if slot is not Slot.CANARY or Slot.STABLE.value not in slots:
        return stages
    for weight in weights:
        split = {Slot.STABLE.value: 100 - weight, Slot.CANARY.value: weight}
        stages.append((f"canary at {weight}%", Desired(dict(slots), split)))
    promoted = Desired({Slot.STABLE.value: slots[Slot.CANARY.value]}, {Slot.STABLE.value: 100})
    stages.append(("promote: the canary becomes stable, the canary slot is removed", promoted))
    return stages


def mock_preview(
    program: Program,
    current: Desired,
    stages: Sequence[tuple[str, Desired]],
    describe: Describe,
    replaced: frozenset[str] = frozenset(),
    note: str = MOCK_NOTE,
) -> PreviewSummary:
    """Each stage compared with the one before (the first with `current`). `replaced`: type
    tokens whose changes replace the resource (immutable in the cloud)."""
    before = _shown(run_program(functools.partial(program, current)), describe)
    steps: list[RolloutStepPreview] = []
    for title, desired in stages:
        after = _shown(run_program(functools.partial(program, desired)), describe)
        steps.append(_compare(title, before, after, replaced))
        before = after
    first = steps[0] if steps else RolloutStepPreview("nothing to do", {}, [])
    return PreviewSummary(first.changes, list(first.resources), steps, note)


def _shown(
    resources: list[Recorded], describe: Describe
) -> dict[tuple[str, str], tuple[Described, dict[str, Any]]]:
    """Resources in review order (kind rank, then name): the engine registers a program's
    resources as their inputs resolve, so the order the mocks see them in varies run to run."""
    shown = []
    for resource in resources:
        described = describe(resource)
        if described is not None:
            shown.append(((resource.type, resource.name), (described, resource.inputs)))
    shown.sort(key=lambda item: (item[1][0].rank, item[1][0].name, item[0]))
    return dict(shown)


def _compare(
    title: str,
    before: Mapping[tuple[str, str], tuple[Described, dict[str, Any]]],
    after: Mapping[tuple[str, str], tuple[Described, dict[str, Any]]],
    replaced: frozenset[str],
) -> RolloutStepPreview:
    counts: dict[str, int] = {}
    lines: list[str] = []
    for key, (new, inputs) in after.items():
        if key not in before:
            op, line = "create", f"+ {_label(new)}{_fields(new.fields)}"
        elif before[key][1] == inputs:
            op, line = "same", ""
        else:
            old = before[key][0]
            op = "replace" if key[0] in replaced else "update"
            sign = "+-" if op == "replace" else "~"
            moves = _moves(old.fields, new.fields) or _changed(before[key][1], inputs)
            line = f"{sign} {_label(new)}{moves}"
        counts[op] = counts.get(op, 0) + 1
        if line:
            lines.append(line)
    for key, (old, _) in before.items():
        if key not in after:
            counts["delete"] = counts.get("delete", 0) + 1
            lines.append(f"- {_label(old)}")
    return RolloutStepPreview(title, counts, lines)


def _label(described: Described) -> str:
    return f"{described.kind} {described.name}"


def _fields(fields: Mapping[str, str]) -> str:
    return f" ({', '.join(f'{k} {v}' for k, v in fields.items())})" if fields else ""


def _moves(old: Mapping[str, str], new: Mapping[str, str]) -> str:
    moved = [
        f"{key} {old.get(key, '(none)')} → {new.get(key, '(none)')}"
        for key in [*new, *(k for k in old if k not in new)]
        if old.get(key) != new.get(key)
    ]
    return f": {', '.join(moved)}" if moved else ""


def _changed(old: Any, new: Any, path: str = "", depth: int = 2) -> str:
    """`: metadata.labels changed`: where two inputs differ (two levels deep), for a change
    no key field shows."""
    paths = _diff_paths(old, new, path, depth)
    return f": {', '.join(paths[:3])}{' ...' if len(paths) > 3 else ''} changed" if paths else ""


def _diff_paths(old: Any, new: Any, path: str, depth: int) -> list[str]:
    if old == new:
        return []
    if depth == 0 or not (isinstance(old, dict) and isinstance(new, dict)):
        return [path or "inputs"]
    out: list[str] = []
    for key in [*new, *(k for k in old if k not in new)]:
        sub = f"{path}.{key}" if path else str(key)
        out += _diff_paths(old.get(key), new.get(key), sub, depth - 1)
    return out
