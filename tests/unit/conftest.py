"""Fixtures shared by the unit tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from botocore.stub import Stubber

from tests.fake_cloudwatch import stubbed


@pytest.fixture
def stubbed_cloudwatch(monkeypatch: pytest.MonkeyPatch) -> Iterator[Stubber]:
    """CloudWatch answered by botocore's Stubber; add the answers in the order asked."""
    with stubbed(monkeypatch) as stub:
        yield stub
