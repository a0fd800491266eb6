from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.environment import apply_quiet_defaults

apply_quiet_defaults()

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def repo() -> Path:
    """The checkout under test."""
    return REPO
