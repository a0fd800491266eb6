"""A file on this host whose content Pulumi owns (config files, markers, rendered sites).

`read` reports the file as it is on disk, so `pulumi refresh` sees a hand edit or a deletion.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path
from typing import Any

import pulumi
from pulumi.dynamic import (
    CheckFailure,
    CheckResult,
    CreateResult,
    DiffResult,
    ReadResult,
    Resource,
    ResourceProvider,
    UpdateResult,
)

DEFAULT_MODE = 0o644


def _digest(content: str) -> str:
    return hashlib.sha256(content.encode()).hexdigest()


def _write(path: str, content: str, mode: int) -> dict[str, Any]:
    """Write atomically (temp file + rename) so readers never see half a file."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(content)
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return {"path": path, "content": content, "mode": mode, "sha256": _digest(content)}


class ManagedFileProvider(ResourceProvider):
    """Dynamic provider for `ManagedFile`; the resource id is the absolute path."""

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        failures = []
        path = news.get("path")
        if not isinstance(path, str) or not os.path.isabs(path):
            failures.append(CheckFailure("path", f"must be an absolute path, got {path!r}"))
        if not isinstance(news.get("content"), str):
            failures.append(CheckFailure("content", "must be a string"))
        mode = news.get("mode", DEFAULT_MODE)
        # Numbers cross the engine's wire as floats: 420.0 is the mode 0o644.
        if isinstance(mode, float) and mode.is_integer():
            mode = int(mode)
        if not isinstance(mode, int) or not 0 <= mode <= 0o777:
            failures.append(
                CheckFailure("mode", f"must be a permission mode 0..0o777, got {mode!r}")
            )
        return CheckResult({**news, "mode": mode}, failures)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        replaces = ["path"] if olds.get("path") != news.get("path") else []
        changed = replaces or any(olds.get(k) != news.get(k) for k in ("content", "mode"))
        return DiffResult(changes=bool(changed), replaces=replaces, delete_before_replace=False)

    def create(self, props: dict[str, Any]) -> CreateResult:
        outs = _write(props["path"], props["content"], int(props["mode"]))
        return CreateResult(id_=props["path"], outs=outs)

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        path = Path(id_)
        if not path.is_file():
            return ReadResult(id_="", outs={})
        content = path.read_text(encoding="utf-8", errors="replace")
        mode = path.stat().st_mode & 0o777
        outs = {"path": id_, "content": content, "mode": mode, "sha256": _digest(content)}
        inputs = {"path": id_, "content": content, "mode": mode}
        return ReadResult(id_=id_, outs=outs, inputs=inputs)

    def update(self, _id: str, _olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        return UpdateResult(outs=_write(news["path"], news["content"], int(news["mode"])))

    def delete(self, id_: str, _props: dict[str, Any]) -> None:
        Path(id_).unlink(missing_ok=True)


class ManagedFile(Resource, module="shipyard", name="ManagedFile"):
    """A file with the given content and mode; replaced when its path changes."""

    path: pulumi.Output[str]
    content: pulumi.Output[str]
    sha256: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        path: str,
        content: str,
        mode: int = DEFAULT_MODE,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        props = {"path": path, "content": content, "mode": mode, "sha256": None}
        super().__init__(ManagedFileProvider(), name, props, opts)
