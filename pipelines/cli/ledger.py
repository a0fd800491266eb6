"""`shipyard ledger verify|show|export|import` (alias `audit`): check the audit trail's hash
chain and signed checkpoints, print it, or move it out of or into the state store as JSON
Lines (the format of the old `.shipyard/ledger.jsonl`)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pipelines.audit.ledger import Ledger
    from pipelines.core.workspace import Workspace

HELP = (
    "the deployment ledger: check its hash chain (verify), print it (show), write it out "
    "(export) or bring an older ledger.jsonl into the state store (import)"
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    actions.add_parser(
        "verify", help="check the hash chain and the signed checkpoints; exit 1 when broken"
    )
    show = actions.add_parser("show", help="print the entries, one a line")
    show.add_argument("--spec", help="only the entries of this spec")
    export = actions.add_parser("export", help="write the entries as JSON Lines")
    export.add_argument(
        "--out", type=Path, metavar="FILE", help="write to FILE (default: standard output)"
    )
    into = actions.add_parser(
        "import", help="bring a ledger.jsonl into an empty state store (its chain checked first)"
    )
    into.add_argument("file", type=Path, metavar="FILE", help="the ledger.jsonl to import")


def run(args: argparse.Namespace) -> int:
    from pipelines.audit.ledger import ledger_of
    from pipelines.core.workspace import Workspace

    ws = Workspace.at(args.root)
    return ACTIONS[args.action](ws, ledger_of(ws), args)


def _verify(ws: Workspace, ledger: Ledger, args: argparse.Namespace) -> int:
    from pipelines.audit.checkpoint import signature_check
    from pipelines.build.signing import verifying_key

    signed = ledger.store.checkpoints()
    report = ledger.report(signature_check(verifying_key(ws.bentoml_home)) if signed else None)
    for problem in report.problems:
        print(f"{ledger.where}: {problem}")
    state = "intact" if report.intact else "BROKEN"
    print(f"{report.count} entries, {report.checkpoints} checkpoints; chain {state}")
    if report.intact and report.head is not None:
        print(f"head: seq {report.head[0]} sha256 {report.head[1]}")
    return 0 if report.intact else 1


def _show(ws: Workspace, ledger: Ledger, args: argparse.Namespace) -> int:
    for entry in ledger.entries(args.spec):
        details = json.dumps(entry.details, default=str)
        print(f"{entry.seq:>5} {entry.kind:<10} {entry.spec}/{entry.env or '-'} {details[:160]}")
    return 0


def _export(ws: Workspace, ledger: Ledger, args: argparse.Namespace) -> int:
    from pipelines.audit.transfer import export_file, export_jsonl

    if args.out is None:
        count = export_jsonl(ledger, sys.stdout)
        print(f"{count} entries exported from {ledger.where}", file=sys.stderr)
    else:
        count = export_file(ledger, args.out)
        print(f"{count} entries exported from {ledger.where} to {args.out}")
    return 0


def _import(ws: Workspace, ledger: Ledger, args: argparse.Namespace) -> int:
    from pipelines.audit.transfer import import_jsonl

    count = import_jsonl(ledger, args.file)
    print(f"{count} entries imported from {args.file} into {ledger.where}; chain intact")
    return 0


ACTIONS: dict[str, Callable[[Workspace, Ledger, argparse.Namespace], int]] = {
    "verify": _verify,
    "show": _show,
    "export": _export,
    "import": _import,
}
