"""The `stubbed_cloudwatch` fixture (loaded as a plugin by tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from botocore.stub import Stubber

from tests.fakes.cloudwatch import stubbed


@pytest.fixture
def stubbed_cloudwatch(monkeypatch: pytest.MonkeyPatch) -> Iterator[Stubber]:
    """CloudWatch answered by botocore's Stubber; add the answers in the order asked."""
    with stubbed(monkeypatch) as stub:
        yield stub
