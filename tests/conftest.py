from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.core.tool_env import apply_quiet_defaults

apply_quiet_defaults()
# The helpers' asserts explain themselves too, though test modules import them first.
pytest.register_assert_rewrite("tests.fakes")

# Fixtures used across packages, kept with the other helpers in tests/fakes/: the session's
# demo project (`demo`) and CloudWatch answered by botocore's Stubber (`stubbed_cloudwatch`).
pytest_plugins = ["tests.fakes.demo", "tests.fakes.cloudwatch_stub"]

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def repo() -> Path:
    """The checkout under test."""
    return REPO
