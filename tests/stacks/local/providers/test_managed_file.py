"""The ManagedFile provider's contract, called directly on literals and temp files."""

from __future__ import annotations

from pathlib import Path

from stacks.local.providers.managed_file import ManagedFileProvider

provider = ManagedFileProvider()


def test_check_names_each_bad_property() -> None:
    result = provider.check({}, {"path": "relative/file", "content": 3, "mode": 0o1777})
    assert [(f.property, f.reason) for f in result.failures] == [
        ("path", "must be an absolute path, got 'relative/file'"),
        ("content", "must be a string"),
        ("mode", "must be a permission mode 0..0o777, got 1023"),
    ]


def test_check_defaults_mode() -> None:
    result = provider.check({}, {"path": "/tmp/x", "content": ""})
    assert result.failures == []
    assert result.inputs["mode"] == 0o644


def test_diff_replaces_on_path_and_updates_on_content() -> None:
    old = {"path": "/a", "content": "x", "mode": 0o644}
    moved = provider.diff("/a", old, {**old, "path": "/b"})
    assert (moved.changes, moved.replaces) == (True, ["path"])
    edited = provider.diff("/a", old, {**old, "content": "y"})
    assert (edited.changes, edited.replaces) == (True, [])
    same = provider.diff("/a", old, dict(old))
    assert (same.changes, same.replaces) == (False, [])


def test_create_read_update_delete(tmp_path: Path) -> None:
    path = str(tmp_path / "sub" / "f.txt")
    created = provider.create({"path": path, "content": "one", "mode": 0o600})
    assert created.id == path
    assert Path(path).read_text() == "one"
    assert Path(path).stat().st_mode & 0o777 == 0o600

    Path(path).write_text("drifted")
    read = provider.read(path, {})
    assert read.id == path
    assert read.outs is not None
    assert read.outs["content"] == "drifted"

    provider.update(path, {}, {"path": path, "content": "two", "mode": 0o644})
    assert Path(path).read_text() == "two"

    provider.delete(path, {})
    assert not Path(path).exists()
    assert provider.read(path, {}).id == "", "a deleted file reads as gone"
    provider.delete(path, {})  # deleting twice is fine
