"""`shipyard destroy SPEC --env ENV`: remove everything the environment's target created."""

from __future__ import annotations

import argparse
from pathlib import Path

HELP = "remove everything a spec's environment runs (servers, routing, stack state)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("spec", type=Path, help="the spec file")
    parser.add_argument("--env", required=True, metavar="ENV", help="the environment to remove")


def run(args: argparse.Namespace) -> int:
    from pipelines.core.specs import load_spec
    from pipelines.core.targets import target_for
    from pipelines.core.workspace import Workspace

    ws = Workspace.at(args.root)
    spec = load_spec(args.spec, ws.root)
    target_for(spec, args.env, ws).destroy()
    print(f"destroyed {spec.metadata.name} in {args.env}: no server, route or stack remains")
    return 0
