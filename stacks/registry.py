"""Targets by name: the only place that names the built-in ones. Third parties add theirs
with `register_target(TargetKind(...))`, or through the `shipyard.targets` entry-point group
(an entry point loads to a `TargetKind`)."""

from __future__ import annotations

import functools
from collections.abc import Callable

from stacks.errors import StackError
from stacks.target import TargetKind

_TARGETS: dict[str, TargetKind] = {}


def register_target(kind: TargetKind) -> None:
    _TARGETS[kind.name] = kind


def target_kind(name: str) -> TargetKind:
    """The target registered as `name`; an unknown name lists the known ones."""
    _load()
    try:
        return _TARGETS[name]
    except KeyError:
        known = ", ".join(sorted(_TARGETS)) or "none"
        raise StackError(f"unknown target {name!r}; known targets: {known}") from None


def known_targets() -> list[str]:
    """The registered names: the built-ins first (local, kubernetes, aws), then plugins'."""
    _load()
    return list(_TARGETS)


def _load() -> None:
    from stacks.aws.target import KIND as AWS
    from stacks.kubernetes.target import KIND as KUBERNETES
    from stacks.local.target import KIND as LOCAL

    for kind in (LOCAL, KUBERNETES, AWS):
        _TARGETS.setdefault(kind.name, kind)
    for name, load in _plugins().items():
        if name not in _TARGETS:
            register_target(load())


@functools.cache
def _plugins() -> dict[str, Callable[[], TargetKind]]:
    """The `shipyard.targets` entry points, read once per process: scanning every installed
    package's metadata costs ~40 ms, and `target_for` runs per spec environment."""
    from importlib.metadata import entry_points

    return {entry.name: entry.load for entry in entry_points(group="shipyard.targets")}
