"""What the CloudWatch and SageMaker readers share: the region an address names, an SDK client
on a session of its own, and the hint for missing credentials."""

from __future__ import annotations

from typing import Any

from stacks.reach.errors import ReachError


def credentials_hint(permissions: str) -> str:
    return (
        "give the runner AWS credentials (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE, "
        f"or a role through GitHub OIDC) allowed {permissions}"
    )


def region_of(url: str, netloc: str, error: type[ReachError] = ReachError) -> str:
    """The region an address's host part names (a target without one writes `None`)."""
    if not netloc or netloc == "None":
        raise error(
            f"{url}: no AWS region to reach it in",
            hint="set the environment's aws.region, or AWS_REGION",
        )
    return netloc


def sdk_client(service: str, region: str, timeout: float, attempts: int) -> Any:
    """An SDK client on a session of its own (the default session keeps the credentials it
    found first, for the life of the process)."""
    import boto3
    from botocore.config import Config

    config = Config(
        connect_timeout=timeout,
        read_timeout=timeout,
        retries={"mode": "standard", "total_max_attempts": attempts},
        max_pool_connections=32,
    )
    return boto3.session.Session().client(service, region_name=region, config=config)
