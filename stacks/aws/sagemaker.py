"""Requests to a SageMaker endpoint, signed by the AWS SDK: the serving gates, the canary's
smoke test, traffic replay and readiness of an `aws` slot.

A slot names its variant as `sagemaker://REGION/ENDPOINT?variant=SLOT` (stacks/aws builds
it); without `variant`, SageMaker picks one by weight, as it does for production traffic.
InvokeEndpoint hands the body to the container's `POST /invocations`, which the Bento answers
with its API, so the API name is not part of the address. A container's own error comes back
as SageMaker's 424 ModelError carrying the container's status: that status is reported.
`hey` cannot sign requests, so the load test is a fixed-rate thread pool, reported in the
same terms (LoadReport). The standard AWS credential chain applies; `AWS_ENDPOINT_URL_*`
variables point the SDK elsewhere (a VPC endpoint, a local emulator).
"""

from __future__ import annotations

import functools
import json
import math
import time
import urllib.parse
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from stacks.aws.sdk import credentials_hint, region_of, sdk_client
from stacks.reach.client import LoadReport, nearest_rank
from stacks.reach.errors import ReachError

SCHEME = "sagemaker"
CREDENTIALS_HINT = credentials_hint("sagemaker:InvokeEndpoint and sagemaker:DescribeEndpoint")


@dataclass(frozen=True)
class Address:
    region: str
    endpoint: str
    variant: str | None = None


def parse_url(url: str) -> Address:
    """The `sagemaker://REGION/ENDPOINT[?variant=SLOT]` a slot or an environment names."""
    parsed = urllib.parse.urlsplit(url)
    endpoint = parsed.path.strip("/")
    if parsed.scheme != SCHEME or not endpoint or "/" in endpoint:
        raise ReachError(
            f"{url}: not a SageMaker endpoint (sagemaker://REGION/ENDPOINT?variant=SLOT)",
            hint="the target builds this address; report it as a bug",
        )
    region = region_of(url, parsed.netloc)
    variant = urllib.parse.parse_qs(parsed.query).get("variant", [None])[0]
    return Address(region, endpoint, variant)


def is_sagemaker(url: str) -> bool:
    return url.startswith(f"{SCHEME}://")


@functools.lru_cache(maxsize=8)
def client(service: str, region: str, timeout: float = 10.0) -> Any:
    """A thread-safe SDK client, made once per service and region; no retries, so every
    request the gates count is one request."""
    return sdk_client(service, region, timeout, attempts=1)


def invoke(url: str, body: dict[str, Any]) -> tuple[int, Any]:
    """POST `body` to the endpoint (its variant, if named): the status and the JSON answer,
    as every `SlotClient.post` gives them (0: no answer at all)."""
    from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

    address = parse_url(url)
    asked: dict[str, Any] = {
        "EndpointName": address.endpoint,
        "ContentType": "application/json",
        "Accept": "application/json",
        "Body": json.dumps(body).encode(),
    }
    if address.variant:
        asked["TargetVariant"] = address.variant
    try:
        raw = client("sagemaker-runtime", address.region).invoke_endpoint(**asked)["Body"].read()
    except NoCredentialsError:
        raise ReachError(
            f"no AWS credentials to invoke {address.endpoint} in {address.region}",
            hint=CREDENTIALS_HINT,
        ) from None
    except ClientError as exc:
        data = exc.response
        status = data.get("OriginalStatusCode") or data["ResponseMetadata"]["HTTPStatusCode"]
        error = data.get("Error", {})
        text = data.get("OriginalMessage") or f"{error.get('Code')}: {error.get('Message')}"
        return int(status), str(text)[:300]
    except BotoCoreError as exc:
        return 0, str(exc)[:300]
    try:
        return 200, json.loads(raw or b"null")
    except ValueError:  # answered, but not JSON: the caller judges the text
        return 200, raw.decode(errors="replace")[:300]


def ready(url: str) -> bool:
    """Whether the endpoint is InService and the slot's variant has a running instance."""
    from botocore.exceptions import BotoCoreError, ClientError

    address = parse_url(url)
    try:
        described = client("sagemaker", address.region).describe_endpoint(
            EndpointName=address.endpoint
        )
    except (BotoCoreError, ClientError):
        return False
    if described.get("EndpointStatus") != "InService":
        return False
    variants = {v["VariantName"]: v for v in described.get("ProductionVariants", [])}
    if address.variant is None:
        return bool(variants)
    running = variants.get(address.variant, {}).get("CurrentInstanceCount", 0)
    return bool(running)


def load(
    url: str, body: dict[str, Any], rps: float, duration_s: float, workers: int = 8
) -> LoadReport:
    """`rps` requests a second for `duration_s`, each at its scheduled time on one of
    `workers` threads (a slow endpoint makes them late, as with hey's per-worker rate)."""
    address = parse_url(url)  # a malformed address fails once, not per request
    # The SDK client is made before the clock starts: made by the first requests, on every
    # worker thread at once, its set-up would count as the endpoint's latency.
    client("sagemaker-runtime", address.region)
    total = max(1, round(rps * duration_s))
    start = time.monotonic()

    def one(index: int) -> tuple[int, float]:
        delay = start + index / rps - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        began = time.perf_counter()
        status, _ = invoke(url, body)
        return status, time.perf_counter() - began

    with ThreadPoolExecutor(workers) as pool:
        done = list(pool.map(one, range(total)))
    elapsed = time.monotonic() - start
    answered = sorted(seconds for status, seconds in done if status)
    statuses = Counter(str(status) for status, _ in done if status)
    return LoadReport(
        requests=len(done),
        rps=len(done) / elapsed if elapsed > 0 else math.nan,
        p50_ms=1000 * nearest_rank(answered, 0.50),
        p95_ms=1000 * nearest_rank(answered, 0.95),
        p99_ms=1000 * nearest_rank(answered, 0.99),
        statuses=dict(statuses),
        errors=sum(1 for status, _ in done if not status),
    )


@dataclass(frozen=True)
class SageMakerClient:
    """Signed requests to one variant of a SageMaker endpoint (or, with no variant, to the
    endpoint, which splits them by weight): `sagemaker://REGION/ENDPOINT[?variant=SLOT]`."""

    address: str

    def post(self, api: str, body: dict[str, Any]) -> tuple[int, Any]:
        return invoke(self.address, body)  # the container answers /invocations with its API

    def ready(self) -> bool:
        return ready(self.address)

    def load(self, api: str, body: dict[str, Any], rps: float, duration_s: float) -> LoadReport:
        return load(self.address, body, rps, duration_s)

    def capacity(self) -> LoadReport | None:
        return None  # the pool's own capacity needs no trivial route: it is not hey
