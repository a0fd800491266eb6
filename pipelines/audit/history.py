"""The I/O around `explain.releases`: the spec, the ledger and the registry's training-data
tags."""

from __future__ import annotations

import json
from pathlib import Path

from pipelines.audit.explain import explain_json, releases, render
from pipelines.audit.ledger import ledger_of
from pipelines.core.output import document
from pipelines.core.specs import load_spec
from pipelines.core.targets import environment
from pipelines.core.workspace import Workspace
from validators.sources.registry import TRAINING_DATA_TAG


def explain_spec(ws: Workspace, spec_file: Path, env: str, fmt: str = "text") -> str:
    """The releases of `env` as `shipyard explain` prints them: text, or a JSON document."""
    path = spec_file if spec_file.is_absolute() else ws.root / spec_file
    spec = load_spec(path, ws.root)
    environment(spec, env)  # a clear error when the spec has no such environment
    name = spec.metadata.name
    stories = releases(list(ledger_of(ws).entries()), name, env)
    training: dict[str, str] = {}
    if stories:
        from validators.sources.registry import Registry, RegistryError

        registry = Registry(ws.mlflow_uri)
        for model in {s.model for s in stories}:
            try:
                training[model] = _training(registry.resolve(model).tags.get(TRAINING_DATA_TAG))
            except RegistryError:
                training[model] = "unknown (not in the registry)"
    if fmt == "json":
        return document(explain_json(name, env, stories, training))
    return render(name, env, stories, training)


def _training(tag: str | None) -> str:
    """The training-data tag (`{"path": ..., "sha256": ...}`) as `path (sha256 1a2b3c4d5e6f)`."""
    if not tag:
        return "unknown (the model version has no shipyard.training_data tag)"
    try:
        data = json.loads(tag)
        return f"{data['path']} (sha256 {str(data.get('sha256', '?'))[:12]})"
    except (ValueError, KeyError, TypeError):
        return tag
