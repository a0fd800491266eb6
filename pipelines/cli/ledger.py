"""`shipyard ledger verify|show`: check the audit trail's hash chain, or print it."""

from __future__ import annotations

import argparse
import json

HELP = "verify the deployment ledger's hash chain (verify) or print its entries (show)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=["verify", "show"])
    parser.add_argument("--spec", help="only entries of this spec (show)")


def run(args: argparse.Namespace) -> int:
    from pipelines.audit.ledger import ledger_of
    from pipelines.core.workspace import Workspace

    ledger = ledger_of(Workspace.at(args.root))
    if args.action == "verify":
        problems = ledger.verify()
        count = sum(1 for _ in ledger.entries())
        for problem in problems:
            print(f"{ledger.path}: {problem}")
        print(f"{count} entries; chain {'intact' if not problems else 'BROKEN'}")
        return 0 if not problems else 1
    for entry in ledger.entries():
        if args.spec and entry.spec != args.spec:
            continue
        details = json.dumps(entry.details, default=str)
        print(f"{entry.seq:>5} {entry.kind:<10} {entry.spec}/{entry.env or '-'} {details[:160]}")
    return 0
