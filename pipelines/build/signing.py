"""Signed artifacts: each built Bento, and each model it packs, is signed with OpenSSF model
signing (`model-signing`, an elliptic-curve key: offline, no transparency log); provisioning
verifies both before anything is deployed and refuses an artifact that changed.

The signature is a Sigstore bundle written as `shipyard.sig` inside the signed folder (left out
of what is signed, so it travels with the artifact). Keys:

- `SHIPYARD_SIGNING_KEY`: a PEM EC private key (P-256, P-384 or P-521) that signs; with
  `SHIPYARD_SIGNING_KEY_PASSWORD` when it is encrypted.
- `SHIPYARD_SIGNING_PUBLIC_KEY`: the PEM public key that verifies (a deploy job needs no
  private key); default: the signing key's public half.
- neither: the embedded default generates a development key once, beside the Bento store
  (`.shipyard/bentoml/shipyard-signing/dev-key.pem`), so everything built into one store is
  signed by one key. It catches a changed or corrupted artifact, not someone who can write to
  `.shipyard/`; set a real key in CI.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipelines.core.errors import ShipyardError, UsageError

SIGNATURE_FILE = "shipyard.sig"
KEY_ENV = "SHIPYARD_SIGNING_KEY"
PASSWORD_ENV = "SHIPYARD_SIGNING_KEY_PASSWORD"
PUBLIC_ENV = "SHIPYARD_SIGNING_PUBLIC_KEY"
KEY_DIR = "shipyard-signing"
DEV_KEY = "dev-key.pem"


class SignatureError(ShipyardError):
    """An artifact has no valid signature, or does not match the one it has."""


@dataclass(frozen=True)
class Key:
    """A key to sign with (`private` set) or to verify with; `public` is a PEM file."""

    public: Path
    fingerprint: str  # SHA-256 of the public key's PEM, as model signing's bundle hint
    private: Path | None = None
    password: str | None = None
    origin: str = ""  # where it came from, for messages


@dataclass(frozen=True)
class Signed:
    """One verified signature: what it covers and the digests the ledger records."""

    path: Path
    signature: str  # SHA-256 of the signature file
    manifest: str  # SHA-256 the signature's statement names (the files' manifest)
    key: str  # fingerprint of the key, first 16 hex digits

    def to_json(self) -> dict[str, str]:
        return {"signature": self.signature, "manifest": self.manifest, "key": self.key}


# --- keys -------------------------------------------------------------------------------------


def signing_key(store: Path, environ: Mapping[str, str] = os.environ) -> Key:
    """The key that signs: SHIPYARD_SIGNING_KEY, else the store's development key (made
    on first use)."""
    password = environ.get(PASSWORD_ENV) or None
    if environ.get(KEY_ENV):
        return _private_key(Path(environ[KEY_ENV]), password, store, KEY_ENV)
    path = store / KEY_DIR / DEV_KEY
    if not path.exists():
        _generate(path)
    return _private_key(path, None, store, f"development key {path}")


def verifying_key(store: Path, environ: Mapping[str, str] = os.environ) -> Key:
    """The key that verifies: SHIPYARD_SIGNING_PUBLIC_KEY, else the signing key's public half."""
    if environ.get(PUBLIC_ENV):
        path = Path(environ[PUBLIC_ENV])
        from cryptography.hazmat.primitives import serialization

        try:
            public = serialization.load_pem_public_key(_read(path, PUBLIC_ENV))
        except ValueError as exc:
            raise UsageError(f"{PUBLIC_ENV}={path}: not a PEM public key ({exc})") from None
        pem = public.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return Key(path, hashlib.sha256(pem).hexdigest(), origin=PUBLIC_ENV)
    return signing_key(store, environ)


def _read(path: Path, origin: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise UsageError(
            f"{origin}={path}: cannot read the key ({exc.strerror})",
            hint="point it at a PEM file (create one: openssl ecparam -name prime256v1 "
            "-genkey -noout | openssl pkcs8 -topk8 -nocrypt -out signing.pem)",
        ) from None


def _private_key(path: Path, password: str | None, store: Path, origin: str) -> Key:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    pem = _read(path, origin)
    try:
        key = serialization.load_pem_private_key(pem, password.encode() if password else None)
    except (ValueError, TypeError) as exc:
        raise UsageError(
            f"{origin}={path}: not a usable PEM private key ({exc})",
            hint=f"set {PASSWORD_ENV} when the key is encrypted",
        ) from None
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise UsageError(
            f"{origin}={path}: model signing needs an elliptic-curve key (P-256, P-384, P-521)"
        )
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    fingerprint = hashlib.sha256(public).hexdigest()
    public_path = store / KEY_DIR / f"{fingerprint[:16]}.pub"
    if not public_path.exists():
        public_path.parent.mkdir(parents=True, exist_ok=True)
        public_path.write_bytes(public)
    return Key(public_path, fingerprint, path, password, origin)


def _generate(path: Path) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(f".{os.getpid()}.tmp")
    partial.write_bytes(pem)
    partial.chmod(0o600)
    if not path.exists():  # another process may have made one meanwhile: keep the first
        partial.replace(path)
    partial.unlink(missing_ok=True)


# --- one folder ---------------------------------------------------------------------------------


def sign_dir(path: Path, key: Key) -> Signed:
    """Sign every file under `path` (the signature goes to `path/shipyard.sig`)."""
    from model_signing import hashing, signing

    assert key.private is not None, "a verifying key cannot sign"
    # model_signing's Config constructors are not annotated
    config = hashing.Config().set_ignored_paths(paths=derived_paths(path))  # type: ignore[no-untyped-call]
    signer = signing.Config().set_hashing_config(config)  # type: ignore[no-untyped-call]
    signer.use_elliptic_key_signer(private_key=key.private, password=key.password)
    signer.sign(path, path / SIGNATURE_FILE)
    return verify_dir(path, key)


def derived_paths(path: Path) -> list[str]:
    """What is left out of a signature: the signature itself, and the bytecode caches Python
    may write beside the signed sources when a server imports them."""
    folders = {f.parent for f in path.rglob("*.py")}
    caches = sorted((d / "__pycache__").relative_to(path).as_posix() for d in folders)
    return [SIGNATURE_FILE, *caches]


def verify_dir(path: Path, key: Key, what: str = "") -> Signed:
    """Check `path` against its signature; SignatureError says what is wrong."""
    from cryptography.exceptions import InvalidSignature
    from model_signing import verifying

    what = what or str(path)
    signature = path / SIGNATURE_FILE
    if not signature.is_file():
        raise SignatureError(
            f"{what} is not signed (no {SIGNATURE_FILE}); refusing to deploy it",
            hint="build it again with `shipyard build` (builds sign what they make)",
        )
    statement = _statement(signature, what)
    signer = _bundle_key(signature)
    if signer and signer != key.fingerprint:
        raise SignatureError(
            f"{what} was signed by another key ({signer[:16]}), not {key.origin} "
            f"({key.fingerprint[:16]}); refusing to deploy it",
            hint=f"verify with the key that signed it ({PUBLIC_ENV}), or rebuild it",
        )
    try:
        verifier = verifying.Config()  # type: ignore[no-untyped-call]
        verifier.use_elliptic_key_verifier(public_key=key.public).verify(path, signature)
    except (ValueError, KeyError, InvalidSignature) as exc:
        if not str(exc).startswith("Signature mismatch"):
            raise SignatureError(
                f"{what}: its signature is not valid for {key.origin} "
                f"({type(exc).__name__}: {str(exc)[:200]}); refusing to deploy it",
                hint="the signature file was altered or made with another key: rebuild it",
            ) from None
        changes = _changes(path, statement) or [str(exc)[:300]]
        raise SignatureError(
            f"{what} does not match its signature — {'; '.join(changes)}; refusing to "
            "deploy a changed artifact",
            hint="someone or something modified it after the build: find out why, then "
            "remove it and build it again",
        ) from None
    digest = hashlib.sha256(signature.read_bytes()).hexdigest()
    manifest = str(statement.get("subject", [{}])[0].get("digest", {}).get("sha256", ""))
    return Signed(path, digest, manifest, key.fingerprint[:16])


def ensure_signed(path: Path, key: Key, what: str = "") -> Signed:
    """Verify an existing signature (a reused artifact), else sign."""
    if (path / SIGNATURE_FILE).exists():
        return verify_dir(path, key, what)
    return sign_dir(path, key)


def _statement(signature: Path, what: str) -> dict[str, Any]:
    try:
        bundle = json.loads(signature.read_text(encoding="utf-8"))
        found: dict[str, Any] = json.loads(base64.b64decode(bundle["dsseEnvelope"]["payload"]))
        return found
    except (ValueError, KeyError, TypeError) as exc:
        raise SignatureError(
            f"{what}: {SIGNATURE_FILE} is not a model-signing bundle ({exc}); refusing to deploy it"
        ) from None


def _bundle_key(signature: Path) -> str:
    bundle = json.loads(signature.read_text(encoding="utf-8"))
    return str(bundle.get("verificationMaterial", {}).get("publicKey", {}).get("hint", ""))


def changed_files(expected: Mapping[str, str], actual: Mapping[str, str]) -> list[str]:
    """What differs between two {file: sha256} maps, as a reader wants it said."""
    out = [f"changed: {n}" for n in sorted(expected) if n in actual and actual[n] != expected[n]]
    out += [f"added: {n}" for n in sorted(set(actual) - set(expected))]
    out += [f"missing: {n}" for n in sorted(set(expected) - set(actual))]
    return out


def _changes(path: Path, statement: dict[str, Any]) -> list[str]:
    """The files that differ from the signed manifest (the statement's signature was checked
    before the files were)."""
    predicate = statement.get("predicate", {})
    expected = {r["name"]: r["digest"] for r in predicate.get("resources", [])}
    ignored = {*predicate.get("serialization", {}).get("ignore_paths", []), SIGNATURE_FILE}
    actual = {}
    for file in sorted(path.rglob("*")):
        name = file.relative_to(path).as_posix()
        if file.is_file() and not any(name == i or name.startswith(f"{i}/") for i in ignored):
            actual[name] = hashlib.sha256(file.read_bytes()).hexdigest()
    return changed_files(expected, actual)


# --- Bentos -----------------------------------------------------------------------------------


def bento_parts(tag: str) -> list[tuple[str, Path]]:
    """The Bento's folder and the folder of each model it packs (from BentoML's stores)."""
    import bentoml

    try:
        bento = bentoml.bentos.get(tag)
    except bentoml.exceptions.NotFound:
        raise SignatureError(f"Bento {tag} is not in the Bento store") from None
    parts = [(f"Bento {tag}", Path(bento.path))]
    for model in bento.info.all_models:
        if getattr(model, "registry", "bentoml") != "bentoml":
            continue
        found = bentoml.models.get(str(model.tag))
        parts.append((f"model {found.tag} of Bento {tag}", Path(found.path)))
    return parts


def sign_bento(tag: str, store: Path) -> dict[str, Any]:
    """Sign the Bento and its models (verify them when already signed); what the ledger
    records."""
    key = signing_key(store)
    signed = [ensure_signed(path, key, what) for what, path in bento_parts(tag)]
    return _record(tag, signed)


def verify_bento(tag: str, store: Path) -> dict[str, Any]:
    """Verify the Bento and its models before they are deployed; SignatureError if not."""
    key = verifying_key(store)
    verified = [verify_dir(path, key, what) for what, path in bento_parts(tag)]
    return _record(tag, verified)


def _record(tag: str, signed: list[Signed]) -> dict[str, Any]:
    bento, *models = signed
    return {
        **bento.to_json(),
        "models": {m.path.parent.name + ":" + m.path.name: m.signature for m in models},
        "bento": tag,
    }
