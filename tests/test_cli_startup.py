"""`shipyard --help` must not import the heavy libraries (start-up time: benchmarks/cli_startup)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from pipelines import __version__
from pipelines.cli import VERBS

HEAVY = ("mlflow", "bentoml", "great_expectations", "dvc", "pulumi", "pandas", "sklearn")

PROBE = """
import json, sys
from pipelines.cli import main
try:
    main(sys.argv[1:])
except SystemExit:
    pass
print(json.dumps(sorted(sys.modules)), file=sys.stderr)
"""


@pytest.mark.parametrize("argv", [["--help"], *([verb, "--help"] for verb in VERBS)])
def test_help_imports_no_heavy_library(argv: list[str]) -> None:
    result = subprocess.run(
        [sys.executable, "-c", PROBE, *argv], capture_output=True, text=True, check=True
    )
    modules = json.loads(result.stderr.strip().splitlines()[-1])
    heavy = sorted({m.split(".")[0] for m in modules} & set(HEAVY))
    assert heavy == [], f"shipyard {' '.join(argv)} imported {heavy}"
    assert "usage: shipyard" in result.stdout


def test_console_script_and_module_agree() -> None:
    script = Path(sys.executable).parent / "shipyard"
    outputs = [
        subprocess.run(argv, capture_output=True, text=True, check=True).stdout
        for argv in ([str(script), "--version"], [sys.executable, "-m", "pipelines", "--version"])
    ]
    assert outputs[0] == outputs[1] == f"shipyard {__version__}\n"


def test_unknown_verb_exits_2_with_usage() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "pipelines", "deploy-now"], capture_output=True, text=True
    )
    assert result.returncode == 2
    assert "invalid choice: 'deploy-now'" in result.stderr


def test_validate_loads_no_heavy_library(repo: Path) -> None:
    probe = PROBE.replace("main(sys.argv[1:])", f"main(['-C', {str(repo)!r}, 'validate'])")
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    modules = json.loads(result.stderr.strip().splitlines()[-1])
    assert sorted({m.split(".")[0] for m in modules} & set(HEAVY)) == []
    assert "1 spec(s) checked: 1 valid" in result.stdout
