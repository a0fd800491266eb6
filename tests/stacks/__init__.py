"""Stack programs run under `pulumi.runtime.set_mocks`: no engine, no provider, no network.

`run_program` records every resource the program registers (type, name, inputs as the
engine would receive them: camelCase keys, numbers as floats) in registration order.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pulumi


@dataclass(frozen=True)
class Recorded:
    type: str
    name: str
    inputs: dict[str, Any]


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
        raise AssertionError(f"unexpected provider call {args.token}")


def run_program(program: Callable[[], None]) -> list[Recorded]:
    """Run `program` to completion against fresh mocks; the resources it registered."""
    mocks = RecordingMocks()
    pulumi.runtime.set_mocks(mocks, project="shipyard-test", stack="test", preview=False)
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


def by_name(resources: list[Recorded]) -> dict[str, Recorded]:
    named = {r.name: r for r in resources}
    assert len(named) == len(resources), "two resources share a name"
    return named
