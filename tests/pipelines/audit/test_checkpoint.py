"""Signed ledger checkpoints with a real EC key (the development key `signing_key` makes): a
written checkpoint verifies, alone and in `verify_chain`; a forged signature, an edited
sequence number and a checkpoint signed by another key are each reported."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pipelines.audit.checkpoint import signature_check, write_checkpoint
from pipelines.audit.ledger import Ledger, LedgerKind
from pipelines.audit.verify import verify_chain
from pipelines.build.signing import Key, signing_key
from pipelines.state.store import forget_stores, open_store


@pytest.fixture(autouse=True)
def _forget_stores() -> Iterator[None]:
    yield
    forget_stores()


@pytest.fixture
def key(tmp_path: Path) -> Key:
    return signing_key(tmp_path / "bentoml", environ={})


@pytest.fixture
def ledger(tmp_path: Path) -> Ledger:
    ledger = Ledger(open_store(f"sqlite:///{tmp_path / 'state.db'}"))
    ledger.append(LedgerKind.GATES, "credit", None, passed=True)
    ledger.append(LedgerKind.PROMOTED, "credit", "production", model="models:/credit/1")
    return ledger


def test_a_written_checkpoint_verifies(ledger: Ledger, key: Key) -> None:
    written = write_checkpoint(ledger, key, "apply credit")
    assert written is not None
    head = ledger.store.ledger_head()
    assert head is not None
    assert (written["seq"], written["head"], written["key"]) == (*head, key.fingerprint)
    (stored,) = ledger.store.checkpoints()
    assert signature_check(key)(stored) is None
    report = verify_chain(ledger.store.ledger_rows(), [stored], signature_check(key))
    assert (report.intact, report.checkpoints) == (True, 1)


def test_an_empty_ledger_gets_no_checkpoint(tmp_path: Path, key: Key) -> None:
    empty = Ledger(open_store(f"sqlite:///{tmp_path / 'empty.db'}"))
    assert write_checkpoint(empty, key, "apply") is None
    assert empty.store.checkpoints() == []


def forged(checkpoint: dict[str, Any]) -> dict[str, Any]:
    raw = bytearray(base64.b64decode(checkpoint["signature"]))
    raw[-1] ^= 0xFF
    return {**checkpoint, "signature": base64.b64encode(bytes(raw)).decode()}


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(forged, id="forged signature"),
        pytest.param(lambda c: {**c, "seq": c["seq"] + 1}, id="edited seq"),
        pytest.param(lambda c: {**c, "head": "f" * 64}, id="edited head"),
        pytest.param(lambda c: {**c, "signature": "not base64!"}, id="garbled signature"),
    ],
)
def test_a_tampered_checkpoint_is_reported(ledger: Ledger, key: Key, tamper: Any) -> None:
    written = write_checkpoint(ledger, key, "apply credit")
    assert written is not None
    check = signature_check(key)
    assert check(tamper(written)) == "its signature does not match (forged or edited)"
    report = verify_chain(ledger.store.ledger_rows(), [tamper(written)], check)
    assert report.problems == [
        f"checkpoint of seq {tamper(written)['seq']} (apply credit): its signature does not "
        "match (forged or edited)"
    ]


def test_a_checkpoint_of_another_key_is_reported(ledger: Ledger, key: Key, tmp_path: Path) -> None:
    other = signing_key(tmp_path / "elsewhere", environ={})
    assert other.fingerprint != key.fingerprint
    written = write_checkpoint(ledger, other, "monitor")
    assert written is not None
    assert signature_check(key)(written) == (
        f"signed by key {other.fingerprint[:16]}, not the verifying key {key.fingerprint[:16]} "
        "(set SHIPYARD_SIGNING_PUBLIC_KEY to the key that signed it)"
    )
    assert signature_check(other)(written) is None
