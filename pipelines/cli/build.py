"""`shipyard build SPEC`: pack the spec's model into a Bento (reused when inputs are the same)."""

from __future__ import annotations

import argparse
from pathlib import Path

HELP = "build the spec's MLflow model into a BentoML service (Bento); reuses identical builds"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("spec", type=Path, help="the spec file")


def run(args: argparse.Namespace) -> int:
    from pipelines.build.bento import build_bento
    from pipelines.core.specs import load_spec
    from pipelines.core.workspace import Workspace

    ws = Workspace.at(args.root)
    result = build_bento(load_spec(args.spec, ws.root), args.spec, ws, say=print)
    print(f"bento:  {result.tag}  ({result.path})")
    return 0
