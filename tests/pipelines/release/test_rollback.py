"""What `rollback` returns: the canary taken out (the stable release keeps serving), or an
earlier release restored — one result, read by the text line and the JSON object alike. The
restore itself (signatures, aliases) is the apply integration tests'."""

from __future__ import annotations

from pathlib import Path

from pipelines.audit.ledger import LedgerKind, ledger_of
from pipelines.core.specs import load_spec
from pipelines.core.targets import target_for
from pipelines.core.workspace import Workspace
from pipelines.release.rollback import RECOVERED, RollbackResult, rollback, rollback_json
from stacks.target import Slot
from tests.fakes.deployed import MEMORY_SPEC, STABLE, deploy
from tests.fakes.memory_target import registered
from tests.fakes.projects import project

RESTORED = RollbackResult(
    "credit", "production", False, "models:/credit/3", "credit:aaa", "models:/credit/4", 17
)
REMOVED = RollbackResult("credit", "production", True, "models:/credit/3", "credit:aaa")


def test_the_line_an_operator_reads() -> None:
    assert RESTORED.message == "credit/production: now serving models:/credit/3 (credit:aaa)"
    assert REMOVED.message == (
        "credit/production: canary removed; all traffic on the stable release"
    )


def test_the_json_object_of_the_same_result() -> None:
    assert rollback_json(RESTORED) == {
        "spec": "credit",
        "env": "production",
        "action": "restored",
        "model": "models:/credit/3",
        "bento": "credit:aaa",
        "previous": "models:/credit/4",
        "ledger_seq": 17,
        "message": RESTORED.message,
    }
    assert rollback_json(REMOVED) == {
        "spec": "credit",
        "env": "production",
        "action": "canary removed",
        "model": "models:/credit/3",
        "bento": "credit:aaa",
        "previous": None,
        "ledger_seq": None,
        "message": REMOVED.message,
    }


def test_a_canary_running_is_what_a_rollback_takes_out(tmp_path: Path) -> None:
    ws = project(tmp_path, {"credit.yaml": MEMORY_SPEC})
    spec_file = tmp_path / "specs" / "credit.yaml"
    said: list[str] = []
    with registered():
        deploy(ws, spec_file, "production", canary=True)
        result = rollback(spec_file, "production", None, Workspace.at(tmp_path), said.append)
        state = target_for(load_spec(spec_file, tmp_path), "production", ws).state()
    assert result == REMOVED
    assert list(state.slots) == [Slot.STABLE]
    assert state.slots[Slot.STABLE].release == STABLE
    assert said[0] == f"credit/production: {RECOVERED}: all traffic back on stable first"
    (entry,) = ledger_of(ws).entries("credit", "production", (LedgerKind.ROLLBACK,))
    assert entry.details["reason"] == RECOVERED
