"""What `shipyard version` reports: each real part, where it is, and how to get it if missing."""

from __future__ import annotations

import platform
import sys

from pipelines import __version__


def report_tools() -> tuple[list[str], bool]:
    """Lines to print, and whether the engine needed for every command is present."""
    from stacks.engine.cli import find_pulumi, sdk_version
    from stacks.errors import EngineNotFoundError
    from stacks.local.host import find_nginx, find_supervisord

    lines = [
        f"shipyard     {__version__}",
        f"python       {platform.python_version()} ({sys.executable})",
        f"pulumi SDK   {sdk_version()}",
    ]
    ok = True
    try:
        install = find_pulumi()
        lines.append(f"pulumi CLI   {install.version} ({install.executable})")
    except EngineNotFoundError as exc:
        ok = False
        lines.append(f"pulumi CLI   missing: {exc.message}; {exc.hint}")
    for tool in (find_nginx(), find_supervisord()):
        shown = f"{tool.version} ({tool.path})" if tool.found else f"missing; {tool.install_hint}"
        lines.append(f"{tool.name:<12} {shown}")
    return lines, ok
