"""`shipyard demo`: run the demo on the embedded default and say what it did."""

from __future__ import annotations

import argparse

HELP = "run the demo on the embedded default: set up, gate, release, roll back, block"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--keep-serving",
        action="store_true",
        help="leave staging and production running at the end",
    )
    parser.add_argument(
        "--agent",
        action="store_true",
        help="tell the release story through `shipyard agent` following a team repository "
        "(pushes, no CI): the good model rolled out, the faulty one rolled back, no re-apply",
    )


def run(args: argparse.Namespace) -> int:
    from pipelines.core.workspace import Workspace

    if args.agent:
        from pipelines.demo.agent import run_agent_demo

        return run_agent_demo(Workspace.at(args.root), say=print, keep_serving=args.keep_serving)
    from pipelines.demo import run_demo

    return run_demo(Workspace.at(args.root), say=print, keep_serving=args.keep_serving)
