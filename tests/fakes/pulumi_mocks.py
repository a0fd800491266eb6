"""Stack programs run under `pulumi.runtime.set_mocks`: no engine, no provider, no network.

`run_program` (stacks/engine/mock_preview.py, which plans use to preview cloud targets) records
every resource the program registers (type, name, inputs as the engine would receive them:
camelCase keys, numbers as floats) in registration order.
"""

from __future__ import annotations

from stacks.engine.mock_preview import Recorded, RecordingMocks, plain, run_program

__all__ = ["Recorded", "RecordingMocks", "by_name", "plain", "run_program"]


def by_name(resources: list[Recorded]) -> dict[str, Recorded]:
    named = {r.name: r for r in resources}
    assert len(named) == len(resources), "two resources share a name"
    return named
