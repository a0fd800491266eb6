from __future__ import annotations

import os
from pathlib import Path

import pytest

from pipelines.core.tool_env import apply_quiet_defaults

apply_quiet_defaults()
# Each test's project keeps its state in its own .shipyard/ unless the test says otherwise; a
# CI runner's variables (CI, GITHUB_ACTIONS) would add the "state is lost" warning to every
# apply's output, so tests of that warning set them themselves.
for _name in (
    "SHIPYARD_STATE_URL",
    "SHIPYARD_LOCAL_HOME",
    "CI",
    "GITHUB_ACTIONS",
    "GITHUB_STEP_SUMMARY",
):
    os.environ.pop(_name, None)
# The helpers' asserts explain themselves too, though test modules import them first.
pytest.register_assert_rewrite("tests.fakes")

# Fixtures used across packages, kept with the other helpers in tests/fakes/: the session's
# demo project (`demo`) and CloudWatch answered by botocore's Stubber (`stubbed_cloudwatch`).
pytest_plugins = [
    "tests.fakes.demo",
    "tests.fakes.cloudwatch_stub",
    "tests.fakes.postgres",
    "tests.fakes.mlflow_server",
]

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def repo() -> Path:
    """The checkout under test."""
    return REPO
