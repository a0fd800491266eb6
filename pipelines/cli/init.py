"""`shipyard init`: set up the embedded default (DVC remote, demo data, MLflow registry)."""

from __future__ import annotations

import argparse

HELP = "set up .shipyard/: a local DVC remote, the demo data and the MLflow registry"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    del parser


def run(args: argparse.Namespace) -> int:
    from pipelines.core.workspace import Workspace
    from pipelines.demo.init import init_workspace

    init_workspace(Workspace.at(args.root), say=print)
    return 0
