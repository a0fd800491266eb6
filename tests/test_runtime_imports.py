"""Every runtime dependency imports (resolving is not importing), in one fresh interpreter."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

# Distribution name -> the module the project imports from it.
MODULES = {
    "pyyaml": "yaml",
    "jsonschema": "jsonschema",
    "pydantic": "pydantic",
    "dvc": "dvc.api",
    "mlflow": "mlflow.pyfunc",
    "great-expectations": "great_expectations",
    "bentoml": "bentoml",
    "pulumi": "pulumi.automation",
    "pulumi-kubernetes": "pulumi_kubernetes",
    "pulumi-aws": "pulumi_aws",
    "supervisor": "supervisor.supervisord",
    "scikit-learn": "sklearn.ensemble",
    "scipy": "scipy.stats",
    "fairlearn": "fairlearn.metrics",
    "pandas": "pandas",
    "uv": "uv",
    "model-signing": "model_signing.signing",
    "pyopenssl": "OpenSSL.crypto",
    "pyarrow": "pyarrow.json",
    "boto3": "boto3",
    "sqlalchemy": "sqlalchemy",
    "alembic": "alembic.command",
    "psycopg": "psycopg",
}


def runtime_dependencies(repo: Path) -> list[str]:
    project = tomllib.loads((repo / "pyproject.toml").read_text())["project"]
    return [re.split(r"[<>=!~; \[]", dep, maxsplit=1)[0].lower() for dep in project["dependencies"]]


def test_every_dependency_has_an_import_check(repo: Path) -> None:
    assert sorted(runtime_dependencies(repo)) == sorted(MODULES)


def test_every_runtime_dependency_imports(repo: Path) -> None:
    code = "import importlib, sys\nfor m in sys.argv[1:]:\n    importlib.import_module(m)\n"
    code += "import uv; assert __import__('os').path.exists(uv.find_uv_bin())\n"
    modules = [MODULES[d] for d in runtime_dependencies(repo)]
    result = subprocess.run([sys.executable, "-c", code, *modules], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-3000:]
