"""Signed ledger checkpoints: at the end of every apply, rollback and monitor run the
head of the chain (sequence number and hash) is signed with the project's signing key
(ECDSA, the key that signs Bentos) and stored beside it. `audit verify` checks each one,
so a chain cut back to an earlier entry is caught. Whoever can also delete checkpoints and
forge the key's signature is out of reach; keep the exported ledger (and the head hash
each run prints) outside the store for that."""

from __future__ import annotations

import base64
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pipelines.audit.ledger import Ledger
    from pipelines.build.signing import Key
    from pipelines.core.workspace import Workspace

PREFIX = "shipyard-ledger-checkpoint/v1"


def statement(seq: int, head: str, ts: float) -> bytes:
    return f"{PREFIX}:{seq}:{head}:{ts!r}".encode()


def write_checkpoint(ledger: Ledger, key: Key, reason: str) -> dict[str, Any] | None:
    """Sign and store the chain's head; None when the ledger is empty."""
    head = ledger.store.ledger_head()
    if head is None:
        return None
    seq, digest = head
    ts = time.time()
    record = {
        "seq": seq,
        "head": digest,
        "ts": ts,
        "reason": reason,
        "key": key.fingerprint,
        "signature": _sign(key, statement(seq, digest, ts)),
    }
    ledger.store.add_checkpoint(record)
    return record


def signature_check(key: Key) -> Any:
    """A check of a checkpoint's signature with `key` (the verifying key)."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    public = serialization.load_pem_public_key(key.public.read_bytes())
    if not isinstance(public, ec.EllipticCurvePublicKey):
        raise ValueError(f"{key.public}: not an elliptic-curve public key")

    def check(checkpoint: Mapping[str, Any]) -> str | None:
        if checkpoint.get("key") != key.fingerprint:
            return (
                f"signed by key {str(checkpoint.get('key'))[:16]}, not the verifying key "
                f"{key.fingerprint[:16]} (set SHIPYARD_SIGNING_PUBLIC_KEY to the key that "
                "signed it)"
            )
        try:
            raw = base64.b64decode(str(checkpoint["signature"]), validate=True)
            message = statement(
                int(checkpoint["seq"]), str(checkpoint["head"]), float(checkpoint["ts"])
            )
            public.verify(raw, message, ec.ECDSA(hashes.SHA256()))
        except (InvalidSignature, ValueError, KeyError):
            return "its signature does not match (forged or edited)"
        return None

    return check


def _sign(key: Key, message: bytes) -> str:
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    assert key.private is not None
    password = key.password.encode() if key.password else None
    private = serialization.load_pem_private_key(Path(key.private).read_bytes(), password)
    assert isinstance(private, ec.EllipticCurvePrivateKey)
    return base64.b64encode(private.sign(message, ec.ECDSA(hashes.SHA256()))).decode()


@contextmanager
def sealed(ws: Workspace, reason: str, say: Callable[[str], None]) -> Iterator[None]:
    """Run the block, then — however it ended (a failure, a signal) — sign the ledger's
    head and say it, so the next `audit verify` can tell if anything after it goes missing."""
    try:
        yield
    finally:
        from pipelines.audit.ledger import ledger_of
        from pipelines.build.signing import signing_key

        written = write_checkpoint(ledger_of(ws), signing_key(ws.bentoml_home), reason)
        if written is not None:
            say(
                f"ledger: seq {written['seq']}, head {written['head'][:16]} — checkpoint "
                f"signed by key {written['key'][:16]}"
            )
