"""The smallest real stack: one `ManagedFile`. Setup and the demo use it to prove the engine.

Plain function `program(config)`, run through `stacks.engine.automation` like every target program.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

PROJECT = "shipyard-smoke"


@dataclass(frozen=True)
class SmokeConfig:
    """Where the file goes and what it says."""

    directory: Path
    message: str

    @property
    def path(self) -> Path:
        return self.directory.resolve() / "hello.txt"


def program(config: SmokeConfig) -> None:
    import pulumi

    from stacks.local.providers.managed_file import ManagedFile

    hello = ManagedFile("hello", path=str(config.path), content=config.message + "\n")
    pulumi.export("path", hello.path)
    pulumi.export("sha256", hello.sha256)
