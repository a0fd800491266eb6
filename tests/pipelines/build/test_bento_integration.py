"""`shipyard build` on the real MLflow registry and BentoML: labels, reuse, container-ready
output, locking, and models without a signature."""

from __future__ import annotations

import json
import os
import re
import subprocess
import tarfile
from importlib.metadata import version as dist_version
from pathlib import Path

import pytest
import yaml

from pipelines.build.bento import LOCK_ENV, BuildError, BuildResult, bentoml_env, build_bento
from pipelines.core.specs import load_spec
from pipelines.core.workspace import Workspace
from pipelines.demo.init import InitResult
from tests.fakes.bento_server import BENTOML
from tests.fakes.demo import variant_spec

pytestmark = pytest.mark.integration
Demo = tuple[Workspace, InitResult]
LABELS = (
    "shipyard.spec",
    "shipyard.model-name",
    "shipyard.model-version",
    "shipyard.data-rev",
    "shipyard.spec-digest",
    "git-sha",
)
UNSIGNED = "unsigned-risk"
UNSIGNED_COLUMNS = [
    {"name": "age", "type": "long", "nullable": False},
    {"name": "income", "type": "double", "nullable": False},
    {"name": "debt_ratio", "type": "double", "nullable": False},
    {"name": "savings", "type": "double", "nullable": True},
]


def build(ws: Workspace, spec_file: Path, said: list[str] | None = None) -> BuildResult:
    say = said.append if said is not None else (lambda _: None)
    return build_bento(load_spec(spec_file, ws.root), spec_file, ws, say=say)


def spec_variant(ws: Workspace, name: str, *replacements: tuple[str, str]) -> Path:
    """The demo spec with each (old, new) replaced once, written under variants/."""
    text = (ws.root / "specs" / "credit-risk.yaml").read_text(encoding="utf-8")
    for old, new in replacements:
        assert old in text, old
        text = text.replace(old, new, 1)
    path = ws.root / "variants" / f"{name}.yaml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def requirement_lines(path: Path) -> list[str]:
    lines = (line.strip() for line in path.read_text(encoding="utf-8").splitlines())
    return [line for line in lines if line and not line.startswith(("#", "-"))]


def pins(lines: list[str]) -> dict[str, str]:
    return {name.lower(): version for name, _, version in (line.partition("==") for line in lines)}


def git_head(root: Path) -> str:
    result = subprocess.run(
        ["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True
    )
    return result.stdout.strip() if result.returncode == 0 else "none"


@pytest.fixture(scope="module")
def built(demo: Demo) -> BuildResult:
    """The demo spec built with the default settings: packages locked."""
    ws, _ = demo
    with pytest.MonkeyPatch.context() as env:
        env.delenv(LOCK_ENV, raising=False)
        return build(ws, ws.root / "specs" / "credit-risk.yaml")


def test_labels_name_the_spec_model_data_and_commit(demo: Demo, built: BuildResult) -> None:
    ws, init = demo
    assert built.tag.startswith("credit-risk:")
    for key in LABELS:
        assert built.labels.get(key), key
    dvc = yaml.safe_load((ws.root / "data/credit/holdout.csv.dvc").read_text(encoding="utf-8"))
    assert built.labels["shipyard.spec"] == "credit-risk"
    assert built.labels["shipyard.model-name"] == "credit-risk"
    assert built.labels["shipyard.model-version"] == init.versions["good"] == "1"
    assert built.labels["shipyard.data-rev"] == f"md5-{dvc['outs'][0]['md5']}"
    assert re.fullmatch(r"[0-9a-f]{16}", built.labels["shipyard.spec-digest"])
    assert built.labels["git-sha"] == git_head(ws.root)  # "none": the project has no commit
    bento = yaml.safe_load((built.path / "bento.yaml").read_text(encoding="utf-8"))
    assert {k: str(v) for k, v in bento["labels"].items()} == built.labels


def test_building_the_same_inputs_again_reuses_the_bento(demo: Demo, built: BuildResult) -> None:
    ws, _ = demo
    said: list[str] = []
    again = build(ws, ws.root / "specs" / "credit-risk.yaml", said)
    assert again.reused
    assert (again.tag, again.path, again.labels) == (built.tag, built.path, built.labels)
    assert again.columns == built.columns
    assert any("reused" in line for line in said)


def test_service_settings_or_model_version_change_the_tag(demo: Demo, built: BuildResult) -> None:
    ws, init = demo
    workers = build(ws, spec_variant(ws, "workers-3", ("workers: 2", "workers: 3")))
    version2 = build(ws, variant_spec(ws, init.versions["regressed"]))
    assert not workers.reused
    assert not version2.reused
    assert len({built.tag, workers.tag, version2.tag}) == 3
    config = json.loads((workers.path / "src" / "shipyard.json").read_text(encoding="utf-8"))
    assert config["workers"] == 3
    assert version2.labels["shipyard.model-version"] == init.versions["regressed"]
    assert version2.labels["shipyard.spec-digest"] != built.labels["shipyard.spec-digest"]
    assert build(ws, ws.root / "specs" / "credit-risk.yaml").tag == built.tag


def test_a_second_spec_built_in_the_same_process_describes_its_own_service(
    demo: Demo, built: BuildResult
) -> None:
    """BentoML imports each build's service.py as the module `service`: a module cached by
    the first build would name the first spec's service in the second Bento, whose servers
    then fail to start."""
    ws, _ = demo
    other = build(ws, spec_variant(ws, "other-name", ("name: credit-risk", "name: other-risk")))
    bento = yaml.safe_load((other.path / "bento.yaml").read_text(encoding="utf-8"))
    assert other.tag.startswith("other-risk:")
    assert [service["name"] for service in bento["services"]] == ["other-risk"]
    assert built.tag.startswith("credit-risk:")


def test_the_bento_is_container_ready_with_locked_requirements(
    demo: Demo, built: BuildResult, tmp_path: Path
) -> None:
    ws, _ = demo
    for relative in (
        "bento.yaml",
        "env/docker/Dockerfile",
        "env/python/requirements.txt",
        "src/service.py",
        "src/shipyard.json",
    ):
        assert (built.path / relative).is_file(), relative
    config = json.loads((built.path / "src" / "shipyard.json").read_text(encoding="utf-8"))
    assert config["model_version"] == "models:/credit-risk/1"
    assert [c["name"] for c in config["columns"]] == [c["name"] for c in built.columns]

    locked = requirement_lines(built.path / "env/python/requirements.txt")
    inputs = requirement_lines(built.path / "env/python/requirements.in")
    assert locked
    assert all(re.fullmatch(r"[A-Za-z0-9._\[\],-]+==[^=\s]+", line) for line in locked), locked
    versions = pins(locked)
    assert versions["bentoml"] == dist_version("bentoml")
    assert versions["scikit-learn"] == dist_version("scikit-learn")
    assert "mlflow" in versions or "mlflow-skinny" in versions
    # Locked means the whole closure: transitive dependencies are pinned too.
    assert "pydantic-core" in versions
    assert len(set(locked)) > len(set(inputs))

    archive = tmp_path / "credit-risk.bento"
    exported = subprocess.run(
        [str(BENTOML), "export", built.tag, str(archive)],
        env={**os.environ, **bentoml_env(ws)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert exported.returncode == 0, exported.stderr
    with tarfile.open(archive) as tar:
        names = {name.removeprefix("./") for name in tar.getnames()}
        bento_yaml = tar.extractfile("./bento.yaml")
        assert bento_yaml is not None
        (model,) = yaml.safe_load(bento_yaml)["models"]
    model_name, model_version = model["tag"].split(":")
    assert model_name == "credit-risk-model"
    assert model_version == f"v1-{built.labels['shipyard.model-run'][:12]}"
    model_dir = f"models/{model_name}/{model_version}"
    assert f"{model_dir}/model.yaml" in names
    assert f"{model_dir}/mlflow_model/MLmodel" in names
    assert {"env/docker/Dockerfile", "src/service.py", "src/shipyard.json"} <= names


def test_without_locking_requirements_hold_the_unpinned_input_list(
    demo: Demo, monkeypatch: pytest.MonkeyPatch
) -> None:
    ws, _ = demo
    monkeypatch.setenv(LOCK_ENV, "0")
    spec = spec_variant(ws, "offline", ("name: credit-risk\n", "name: credit-risk-offline\n"))
    result = build(ws, spec)
    assert not result.reused
    requirements = result.path / "env/python/requirements.txt"
    listed = requirement_lines(requirements)
    # Not locked: requirements.txt is the input list itself, with no transitive closure.
    assert listed == requirement_lines(result.path / "env/python/requirements.in")
    assert "--index-url" not in requirements.read_text(encoding="utf-8")
    model_requirements = requirement_lines(
        next((ws.bentoml_home / "models" / "credit-risk-offline-model").glob("v1-*"))
        / "mlflow_model"
        / "requirements.txt"
    )
    assert set(listed) == {
        *model_requirements,
        f"bentoml=={dist_version('bentoml')}",
        f"pydantic=={dist_version('pydantic')}",
        f"skops=={dist_version('skops')}",
    }
    assert "pydantic-core" not in pins(listed)


@pytest.fixture(scope="module")
def unsigned_model(demo: Demo) -> str:
    """A model registered without a signature (and no input example): its URI."""
    import mlflow
    import pandas as pd
    import sklearn
    from sklearn.linear_model import LogisticRegression

    ws, _ = demo
    frame = pd.read_csv(ws.root / "data/credit/holdout.csv")
    features = [c["name"] for c in UNSIGNED_COLUMNS]
    model = LogisticRegression(max_iter=500).fit(frame[features].fillna(0), frame["default"])
    mlflow.set_tracking_uri(ws.mlflow_uri)
    mlflow.set_registry_uri(ws.mlflow_uri)
    if mlflow.get_experiment_by_name(UNSIGNED) is None:
        mlflow.create_experiment(UNSIGNED, (ws.mlflow_artifacts / UNSIGNED).as_uri())
    mlflow.set_experiment(UNSIGNED)
    with mlflow.start_run(run_name="no-signature"):
        info = mlflow.sklearn.log_model(
            model,
            name="model",
            pip_requirements=[f"scikit-learn=={sklearn.__version__}"],
            registered_model_name=UNSIGNED,
        )
    return f"models:/{UNSIGNED}/{info.registered_model_version}"


def test_a_model_without_signature_needs_an_input_schema(demo: Demo, unsigned_model: str) -> None:
    ws, _ = demo
    renamed = ("name: credit-risk\n", f"name: {UNSIGNED}\n")
    uri = ("uri: models:/credit-risk/1\n", f"uri: {unsigned_model}\n")
    with pytest.raises(BuildError, match=r"has no input signature") as raised:
        build(ws, spec_variant(ws, UNSIGNED, renamed, uri))
    assert unsigned_model in raised.value.message
    assert "model.input_schema" in raised.value.hint

    schema = "".join(
        f"    - {{name: {c['name']}, type: {c['type']}"
        + (", nullable: true" if c["nullable"] else "")
        + "}\n"
        for c in UNSIGNED_COLUMNS
    )
    with_schema = (uri[0], f"{uri[1]}  input_schema:\n{schema}")
    result = build(ws, spec_variant(ws, f"{UNSIGNED}-schema", renamed, with_schema))
    assert not result.reused
    assert result.columns == UNSIGNED_COLUMNS
    config = json.loads((result.path / "src" / "shipyard.json").read_text(encoding="utf-8"))
    assert config["columns"] == UNSIGNED_COLUMNS
    assert config["model_version"] == unsigned_model
    assert result.labels["shipyard.model-name"] == UNSIGNED
