"""`shipyard build SPEC`: pack the spec's MLflow model into a Bento served by the one generic
service (`pipelines/build/service.py`).

The Bento's version is a digest of what goes in (model version and run, the spec's serving
settings, the data revision, the service code), so building the same inputs again reuses the
existing Bento. Labels carry the spec, model, data revision, git SHA and spec digest.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from importlib.metadata import version as dist_version
from pathlib import Path
from typing import Any

from pipelines.core.errors import ShipyardError
from pipelines.core.workspace import Workspace
from validators.sources.registry import ModelVersion, Registry
from validators.spec.model import ModelDeployment
from validators.spec.resolved import with_defaults

SERVICE = Path(__file__).with_name("service.py")
BUILD_FORMAT = "bento/1"  # bump when the Bento layout changes, to force rebuilds
LOCK_ENV = "SHIPYARD_BENTO_LOCK"  # "0": do not lock packages (offline builds)
SKLEARN_SERIALIZERS = {"skops": "skops", "cloudpickle": "cloudpickle"}


class BuildError(ShipyardError):
    """The Bento could not be built; the message says which step and why."""


@dataclass(frozen=True)
class BuildResult:
    tag: str
    path: Path
    reused: bool
    labels: dict[str, str]
    columns: list[dict[str, Any]]
    signature: dict[str, Any] = field(default_factory=dict)  # digests (pipelines/build/signing.py)


def bentoml_env(ws: Workspace) -> dict[str, str]:
    """Variables every BentoML call gets: the project's store, no tracking, uv on PATH."""
    return {
        "BENTOML_HOME": str(ws.bentoml_home),
        "BENTOML_DO_NOT_TRACK": "true",
        "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]),
    }


@dataclass(frozen=True)
class _Planned:
    tag: str
    version: str
    model: ModelVersion
    model_dir: Path
    columns: list[dict[str, Any]]
    config: dict[str, Any]
    labels: dict[str, str]


def planned_tag(spec: ModelDeployment, spec_file: Path, ws: Workspace) -> str:
    """The tag `build_bento` gives this spec's Bento (a digest of model, spec and service),
    without building it: plans preview the release under its real name."""
    return _plan(spec, spec_file, ws).tag


def _plan(spec: ModelDeployment, spec_file: Path, ws: Workspace) -> _Planned:
    registry = Registry(ws.mlflow_uri)
    model = registry.resolve(spec.model.uri)
    model_dir = _model_dir(registry, model, ws)
    columns = _columns(spec, model_dir)
    config = _service_config(spec, model, columns)
    labels = _labels(spec, spec_file, ws.root, model)
    version = _digest(
        {
            "format": BUILD_FORMAT,
            "config": config,
            "labels": {k: v for k, v in labels.items() if k != "git-sha"},
            "service": SERVICE.read_text(),
            "locked": os.environ.get(LOCK_ENV, "1") != "0",
        }
    )[:20]
    tag = f"{spec.metadata.name}:{version}"
    return _Planned(tag, version, model, model_dir, columns, config, labels)


def _model_dir(registry: Registry, model: ModelVersion, ws: Workspace) -> Path:
    """A local folder holding the model version's files: where they are when the registry
    stores them on this machine (`file://`), else a copy downloaded once into `.shipyard/`
    (a tracking server's proxied artifact store, `mlflow-artifacts:/...`, or S3)."""
    location = registry.download_location(model)
    if location.startswith("file://"):
        return Path(location.removeprefix("file://"))
    local = ws.state / "models" / model.name / model.version / model.run_id
    if not (local / "MLmodel").exists():
        import mlflow.artifacts

        partial = local.with_name(f"{local.name}.partial")
        shutil.rmtree(partial, ignore_errors=True)
        fetched = mlflow.artifacts.download_artifacts(
            artifact_uri=location, dst_path=str(partial), tracking_uri=registry.tracking_uri
        )
        shutil.rmtree(local, ignore_errors=True)
        Path(fetched).rename(local)
        shutil.rmtree(partial, ignore_errors=True)
    return local


@contextmanager
def _store_lock(ws: Workspace, name: str) -> Iterator[None]:
    """One build (and signing) of a spec's Bentos at a time among the processes sharing the
    Bento store — CI jobs on one host share BENTOML_HOME: the second waits, then reuses and
    verifies what the first built. An flock: released when its holder dies."""
    import fcntl

    path = ws.bentoml_home / ".shipyard-locks" / f"{name}.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def build_bento(
    spec: ModelDeployment, spec_file: Path, ws: Workspace, say: Callable[[str], None]
) -> BuildResult:
    """Build (or reuse) the Bento, then sign it and its models (pipelines/build/signing.py)."""
    from pipelines.build.signing import sign_bento

    with _store_lock(ws, spec.metadata.name):
        result = _build_or_reuse(spec, spec_file, ws, say)
        signature = sign_bento(result.tag, ws.bentoml_home)
    say(
        f"sign:   {result.tag} and {len(signature['models'])} model(s) signed (signature "
        f"sha256 {signature['signature'][:12]}, key {signature['key']})"
    )
    return replace(result, signature=signature)


def _build_or_reuse(
    spec: ModelDeployment, spec_file: Path, ws: Workspace, say: Callable[[str], None]
) -> BuildResult:
    os.environ.update(bentoml_env(ws))
    import bentoml

    planned = _plan(spec, spec_file, ws)
    tag, version, model, model_dir = planned.tag, planned.version, planned.model, planned.model_dir
    columns, config, labels = planned.columns, planned.config, planned.labels
    try:
        existing = bentoml.bentos.get(tag)
        say(f"build:  {tag} exists (same model, spec and service): reused")
        return BuildResult(tag, Path(existing.path), True, dict(existing.info.labels), columns)
    except bentoml.exceptions.NotFound:
        pass
    model_tag = _import_model(spec, model, model_dir, labels, say)
    config["model_tag"] = model_tag
    context = ws.state / "build" / spec.metadata.name / version
    shutil.rmtree(context, ignore_errors=True)
    context.mkdir(parents=True)
    shutil.copy(SERVICE, context / "service.py")
    (context / "shipyard.json").write_text(json.dumps(config, indent=2), encoding="utf-8")
    bento = _build(spec, context, version, labels, model_tag, model_dir)
    say(f"build:  {bento.tag} built ({_size(Path(bento.path))})")
    return BuildResult(str(bento.tag), Path(bento.path), False, labels, columns)


def _digest(material: object) -> str:
    return hashlib.sha256(json.dumps(material, sort_keys=True).encode()).hexdigest()


def _columns(spec: ModelDeployment, model_dir: Path) -> list[dict[str, Any]]:
    """The input columns: the spec's override, else the MLflow model signature."""
    if spec.model.input_schema:
        return [
            {"name": c.name, "type": c.type, "nullable": bool(c.nullable)}
            for c in spec.model.input_schema
        ]
    from mlflow.models import Model

    signature = Model.load(str(model_dir / "MLmodel")).signature
    if signature is None or signature.inputs is None:
        raise BuildError(
            f"model.uri: {spec.model.uri} has no input signature",
            hint="log the model with a signature, or set model.input_schema in the spec",
        )
    columns = []
    for col in signature.inputs.to_dict():
        if "name" not in col or col.get("type") not in (
            "double",
            "float",
            "long",
            "integer",
            "boolean",
            "string",
            "datetime",
        ):
            raise BuildError(
                f"model.uri: {spec.model.uri} has a non-tabular signature input {col}",
                hint="set model.input_schema in the spec to the columns the model takes",
            )
        columns.append(
            {"name": col["name"], "type": col["type"], "nullable": not col.get("required", True)}
        )
    return columns


def _service_config(
    spec: ModelDeployment, model: ModelVersion, columns: list[dict[str, Any]]
) -> dict[str, Any]:
    service = with_defaults(spec).service
    return {
        "service_name": spec.metadata.name,
        "model_version": model.uri,
        "api": service.api,
        "columns": columns,
        "max_batch_size": service.max_batch_size,
        "max_latency_ms": service.max_latency_ms,
        "workers": service.workers,
        "timeout_s": service.timeout_s,
        "max_request_bytes": service.max_request_bytes,
    }


def _labels(
    spec: ModelDeployment, spec_file: Path, root: Path, model: ModelVersion
) -> dict[str, str]:
    data = spec.data.evaluation if spec.data else None
    return {
        "shipyard.spec": spec.metadata.name,
        "shipyard.model-name": model.name,
        "shipyard.model-version": model.version,
        "shipyard.model-run": model.run_id,
        "shipyard.data-rev": _data_rev(root, data.path, data.rev) if data else "none",
        # What the Bento depends on: the model, data and service sections (not gates or
        # environments, whose changes need no new Bento).
        "shipyard.spec-digest": _digest(
            spec.model_dump(mode="json", by_alias=True, include={"model", "data", "service"})
        )[:16],
        "git-sha": _git_sha(root),
    }


def _data_rev(root: Path, path: str, rev: str | None) -> str:
    """The pinned rev, else the DVC md5 of the tracked file, else 'workspace'."""
    if rev:
        return rev
    pointer = root / f"{path}.dvc"
    if pointer.exists():
        import yaml

        outs = (yaml.safe_load(pointer.read_text()) or {}).get("outs") or [{}]
        return f"md5-{outs[0].get('md5', 'unknown')}"
    return "workspace"


def _git_sha(root: Path) -> str:
    result = subprocess.run(
        ["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True
    )
    return result.stdout.strip() if result.returncode == 0 else "none"


def _import_model(
    spec: ModelDeployment,
    model: ModelVersion,
    model_dir: Path,
    labels: dict[str, str],
    say: Callable[[str], None],
) -> str:
    """The MLflow model in the Bento model store, tagged by its registry version and run."""
    import bentoml

    tag = f"{spec.metadata.name}-model:v{model.version}-{model.run_id[:12]}"
    try:
        return str(bentoml.models.get(tag).tag)
    except bentoml.exceptions.NotFound:
        pass
    imported = bentoml.mlflow.import_model(
        tag,
        str(model_dir),
        labels={k: v for k, v in labels.items() if k != "git-sha"},
        signatures={"predict": {"batchable": True}},
    )
    say(f"build:  imported {model.uri} as {imported.tag}")
    return str(imported.tag)


def _requirements(model_dir: Path) -> list[str]:
    """The model's own requirements, plus what the service itself imports."""
    from mlflow.models import Model

    listed = (model_dir / "requirements.txt").read_text().split()
    flavors = Model.load(str(model_dir / "MLmodel")).flavors
    extra = [f"bentoml=={dist_version('bentoml')}", f"pydantic=={dist_version('pydantic')}"]
    serializer = flavors.get("sklearn", {}).get("serialization_format")
    if serializer in SKLEARN_SERIALIZERS:
        name = SKLEARN_SERIALIZERS[serializer]
        extra.append(f"{name}=={dist_version(name)}")
    named = {r.split("==")[0].lower() for r in listed}
    return [*listed, *(e for e in extra if e.split("==")[0].lower() not in named)]


def _build(
    spec: ModelDeployment,
    context: Path,
    version: str,
    labels: dict[str, str],
    model_tag: str,
    model_dir: Path,
) -> Any:
    import bentoml

    lock = os.environ.get(LOCK_ENV, "1") != "0"
    # BentoML imports the build context's service.py as the module `service`; one cached by an
    # earlier build in this process would describe that build's service (its name, its
    # config), and the servers of this Bento would then fail to start.
    sys.modules.pop("service", None)
    try:
        return bentoml.bentos.build(
            "service:ModelService",
            name=spec.metadata.name,
            version=version,
            labels=labels,
            description=spec.metadata.description or f"Shipyard service for {spec.model.uri}",
            include=["service.py", "shipyard.json"],
            python={"packages": _requirements(model_dir), "lock_packages": lock},
            docker={"python_version": f"{sys.version_info.major}.{sys.version_info.minor}"},
            models=[model_tag],
            build_ctx=str(context),
        )
    except Exception as exc:  # bentoml raises many types; all mean "the build failed"
        hint = (
            f"set {LOCK_ENV}=0 to build without locking packages (offline)"
            if lock
            else "see the message above"
        )
        raise BuildError(f"bentoml build of {spec.metadata.name} failed: {exc}", hint) from exc
    finally:
        sys.modules.pop("service", None)


def _size(path: Path) -> str:
    total = sum(f.stat().st_size for f in path.rglob("*") if f.is_file())
    return f"{total / 1e6:.1f} MB"
