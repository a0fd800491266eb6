"""`shipyard`: one small module per verb; each parses its arguments and makes one engine call.

Start-up stays fast: verb modules import only the standard library at the top, and the engine
(and with it mlflow, bentoml, great_expectations, dvc, pulumi) is imported inside `run`.
"""

from __future__ import annotations

import argparse
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

from pipelines import __version__
from pipelines.cli import (
    agent,
    apply,
    approve,
    build,
    codeowners,
    demo,
    destroy,
    explain,
    init,
    ledger,
    monitor,
    operate,
    plan,
    plugins,
    rollback,
    schema,
    state,
    status,
    validate,
    version,
)
from pipelines.core.errors import EXIT_INTERNAL, USER_ERRORS
from pipelines.core.tool_env import apply_quiet_defaults

VERBS: dict[str, ModuleType] = {
    "init": init,
    "validate": validate,
    "plan": plan,
    "build": build,
    "apply": apply,
    "approve": approve,
    "rollback": rollback,
    "promote": operate,
    "abort": operate,
    "pause": operate,
    "resume": operate,
    "retry": operate,
    "monitor": monitor,
    "status": status,
    "agent": agent,
    "ledger": ledger,
    "audit": ledger,  # the same audit trail, under the name reviewers look for
    "explain": explain,
    "state": state,
    "codeowners": codeowners,
    "destroy": destroy,
    "plugins": plugins,
    "schema": schema,
    "demo": demo,
    "version": version,
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="shipyard",
        description="Declarative GitOps for ML model deployment: specs in Git, plans on pull "
        "requests, gated canary releases on merge.",
    )
    parser.add_argument("--version", action="version", version=f"shipyard {__version__}")
    parser.add_argument(
        "-C",
        "--root",
        type=Path,
        default=Path("."),
        metavar="DIR",
        help="project folder holding specs/ and .shipyard/ (default: the current folder)",
    )
    verbs = parser.add_subparsers(dest="verb", metavar="COMMAND", required=True)
    for name, module in VERBS.items():
        about = getattr(module, "HELPS", {}).get(name, module.HELP)
        sub = verbs.add_parser(name, help=about, description=about)
        module.add_arguments(sub)
        sub.set_defaults(run=module.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    apply_quiet_defaults()
    args = build_parser().parse_args(argv)
    from pipelines.core.signals import Interrupted, interruptible

    try:
        with interruptible():
            return int(args.run(args))
    except Interrupted as stop:
        print(f"interrupted by {stop.name}", file=sys.stderr)
        return stop.exit_code
    except KeyboardInterrupt:  # outside the main thread's handler (not expected)
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        if isinstance(exc, USER_ERRORS):
            print(f"error: {exc}", file=sys.stderr)
            hint = getattr(exc, "hint", "")
            if hint:
                print(f"  hint: {hint}", file=sys.stderr)
            return int(getattr(exc, "exit_code", 1))
        return _internal_error(exc, args.root)


def _internal_error(exc: Exception, root: Path) -> int:
    """A bug: keep the traceback in a file and tell the user how to report it."""
    log = root / ".shipyard" / "logs" / "last-error.txt"
    try:
        log.parent.mkdir(parents=True, exist_ok=True)
        log.write_text(traceback.format_exc(), encoding="utf-8")
        where = f"the traceback is in {log}"
    except OSError:
        where = "run again with PYTHONDEVMODE=1 to see the traceback"
    print(f"internal error: {type(exc).__name__}: {exc}", file=sys.stderr)
    print(
        f"  this is a bug in Shipyard; {where}; please attach it with the output of "
        "`shipyard version` to a bug report",
        file=sys.stderr,
    )
    return EXIT_INTERNAL
