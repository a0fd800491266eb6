"""`shipyard state upgrade|show`: migrate the state store (`SHIPYARD_STATE_URL`, else
`.shipyard/state.db`) to the schema this Shipyard reads, or say what it holds."""

from __future__ import annotations

import argparse

HELP = (
    "the state store: migrate it to this Shipyard's schema (upgrade; back it up first) or "
    "describe it (show)"
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    actions.add_parser(
        "upgrade", help="apply the schema migrations this Shipyard has (back the database up first)"
    )
    actions.add_parser(
        "show", help="where the store is, its engine and schema, rows per table, rollouts, locks"
    )


def run(args: argparse.Namespace) -> int:
    from pipelines.core.workspace import Workspace
    from pipelines.state.overview import show_lines, upgrade_lines

    url = Workspace.at(args.root).state_url
    print("\n".join(upgrade_lines(url) if args.action == "upgrade" else show_lines(url)))
    return 0
