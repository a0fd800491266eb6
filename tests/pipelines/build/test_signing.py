"""Signing and verifying a folder with OpenSSF model signing (real library, EC keys made here)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from pipelines.build.signing import (
    KEY_ENV,
    PUBLIC_ENV,
    SIGNATURE_FILE,
    SignatureError,
    changed_files,
    ensure_signed,
    sign_dir,
    signing_key,
    verify_dir,
    verifying_key,
)
from pipelines.core.errors import UsageError


def artifact(root: Path) -> Path:
    folder = root / "bento"
    (folder / "src").mkdir(parents=True)
    (folder / "bento.yaml").write_text("name: credit-risk\n", encoding="utf-8")
    (folder / "src" / "service.py").write_text("print('serve')\n", encoding="utf-8")
    (folder / "model.pkl").write_bytes(bytes(range(256)) * 64)
    return folder


def pem_key(path: Path) -> Path:
    key = ec.generate_private_key(ec.SECP384R1())
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return path


def test_a_signed_folder_verifies_and_the_digest_is_the_signature_files(tmp_path: Path) -> None:
    folder, key = artifact(tmp_path), signing_key(tmp_path / "store", {})

    signed = sign_dir(folder, key)

    assert (folder / SIGNATURE_FILE).is_file()
    assert verify_dir(folder, key) == signed
    assert len(signed.signature) == 64
    assert signed.key == key.fingerprint[:16]
    assert key.origin.startswith("development key")
    # the development key is made once, then reused
    assert signing_key(tmp_path / "store", {}).fingerprint == key.fingerprint


@pytest.mark.parametrize(
    ("tamper", "found"),
    [
        (lambda f: (f / "model.pkl").write_bytes(b"evil"), "changed: model.pkl"),
        (lambda f: (f / "src" / "extra.py").write_text("x"), "added: src/extra.py"),
        (lambda f: (f / "bento.yaml").unlink(), "missing: bento.yaml"),
    ],
)
def test_a_tampered_folder_is_refused_naming_the_file(
    tmp_path: Path, tamper: Callable[[Path], object], found: str
) -> None:
    folder, key = artifact(tmp_path), signing_key(tmp_path / "store", {})
    sign_dir(folder, key)
    tamper(folder)

    with pytest.raises(SignatureError, match=f"does not match its signature — .*{found}"):
        verify_dir(folder, key, "Bento credit-risk:abc")
    with pytest.raises(SignatureError, match="refusing to deploy"):
        ensure_signed(folder, key)  # a reused artifact is checked, never re-signed


def test_bytecode_caches_written_beside_the_sources_do_not_count(tmp_path: Path) -> None:
    folder, key = artifact(tmp_path), signing_key(tmp_path / "store", {})
    sign_dir(folder, key)
    (folder / "src" / "__pycache__").mkdir()
    (folder / "src" / "__pycache__" / "service.cpython-311.pyc").write_bytes(b"\0")

    verify_dir(folder, key)


def test_unsigned_other_key_and_forged_signatures_are_refused(tmp_path: Path) -> None:
    folder, key = artifact(tmp_path), signing_key(tmp_path / "store", {})
    with pytest.raises(SignatureError, match="is not signed"):
        verify_dir(folder, key)

    other = signing_key(tmp_path / "other", {KEY_ENV: str(pem_key(tmp_path / "other.pem"))})
    sign_dir(folder, other)
    with pytest.raises(SignatureError, match="was signed by another key"):
        verify_dir(folder, key)

    bundle = json.loads((folder / SIGNATURE_FILE).read_text())
    bundle["verificationMaterial"]["publicKey"]["hint"] = key.fingerprint  # claim our key
    (folder / SIGNATURE_FILE).write_text(json.dumps(bundle))
    with pytest.raises(SignatureError, match="signature is not valid"):
        verify_dir(folder, key)


def test_keys_from_the_environment(tmp_path: Path) -> None:
    private = pem_key(tmp_path / "ci.pem")
    environ = {KEY_ENV: str(private)}
    signer = signing_key(tmp_path / "store", environ)
    folder = artifact(tmp_path)
    sign_dir(folder, signer)

    # a deploy job holds only the public key
    public = tmp_path / "ci.pub"
    public.write_bytes(signer.public.read_bytes() + b"\n")
    verifier = verifying_key(tmp_path / "elsewhere", {PUBLIC_ENV: str(public)})
    assert verifier.private is None
    assert verify_dir(folder, verifier).key == signer.fingerprint[:16]

    with pytest.raises(UsageError, match="cannot read the key"):
        signing_key(tmp_path, {KEY_ENV: str(tmp_path / "missing.pem")})
    (tmp_path / "rsa.pem").write_text("not a key")
    with pytest.raises(UsageError, match="not a usable PEM private key"):
        signing_key(tmp_path, {KEY_ENV: str(tmp_path / "rsa.pem")})


def test_changed_files_says_changed_added_and_missing() -> None:
    assert changed_files({"a": "1", "b": "2", "c": "3"}, {"a": "1", "b": "9", "d": "4"}) == [
        "changed: b",
        "added: d",
        "missing: c",
    ]
