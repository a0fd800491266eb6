"""MLflow aliases follow promotions: the registry shows which version runs where
(`staging`, `production`)."""

from __future__ import annotations

from pipelines.core.workspace import Workspace
from stacks.target import Release
from validators.sources.registry import Registry


def set_alias(ws: Workspace, release: Release, alias: str) -> None:
    """Point `alias` of the release's registered model at the release's version."""
    model_name, _, version = release.model.removeprefix("models:/").partition("/")
    Registry(ws.mlflow_uri).set_alias(model_name, alias, version)
