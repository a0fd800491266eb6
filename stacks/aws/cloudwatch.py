"""A SageMaker variant's requests, 5xx answers and p95 latency read from CloudWatch, so canary
analysis judges an `aws` slot as it judges a local or Kubernetes one.

CloudWatch keeps statistics per period, not counters that run since a server started. A window
is therefore asked as ONE period spanning it (GetMetricData with `Period` = the window, a
multiple of the metric period): the sums are the window's requests and 5xx answers, and the
p95 is over the window's requests, as a histogram quantile over the same requests would be.
The window starts at the first whole period at or after its start (a part-period before it
would count traffic from before the canary, such as the serving gates' load test) and ends
with the period that is still filling.

A slot names its source as `cloudwatch://REGION/NAMESPACE?Name=value&...&period=SECONDS`
(stacks/aws builds it). Metrics: `Invocations` and `Invocation5XXErrors` (Sum), `ModelLatency`
(p95, microseconds: the model container's time; SageMaker's own is `OverheadLatency`).
SageMaker publishes every minute, a minute or more late, so a canary reads as Inconclusive
until its first minutes arrive.
"""

from __future__ import annotations

import math
import urllib.parse
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from stacks.aws.sdk import credentials_hint, region_of, sdk_client
from stacks.reach.errors import ReachError
from stacks.reach.metrics import SlotSample, WindowSource

SCHEME = "cloudwatch"
INVOCATIONS = "Invocations"
ERRORS = "Invocation5XXErrors"
LATENCY = "ModelLatency"  # microseconds
LATENCY_STAT = "p95"
CREDENTIALS_HINT = credentials_hint("cloudwatch:GetMetricData")


class CloudWatchError(ReachError):
    """CloudWatch could not be asked, or refused the question."""


@dataclass(frozen=True)
class VariantMetrics:
    """Where one slot's metrics live: region, namespace, dimensions, publishing period."""

    region: str
    namespace: str
    dimensions: tuple[tuple[str, str], ...]
    period_s: int = 60


def parse_url(url: str) -> VariantMetrics:
    """The `cloudwatch://REGION/NAMESPACE?Name=value&...&period=SECONDS` a slot names."""
    parsed = urllib.parse.urlsplit(url)
    params = urllib.parse.parse_qsl(parsed.query)
    dimensions = tuple((k, v) for k, v in params if k != "period")
    period = dict(params).get("period", "60")
    if parsed.scheme != SCHEME or not parsed.path.strip("/") or not dimensions:
        raise CloudWatchError(
            f"{url}: not a CloudWatch source (cloudwatch://REGION/NAMESPACE?Name=value&...)",
            hint="the target builds this address; report it as a bug",
        )
    region = region_of(url, parsed.netloc, CloudWatchError)
    if not period.isdigit() or int(period) < 60 or int(period) % 60:
        raise CloudWatchError(f"{url}: period must be a multiple of 60 seconds, got {period!r}")
    namespace = urllib.parse.unquote(parsed.path.strip("/"))
    return VariantMetrics(region, namespace, dimensions, int(period))


def window(start: float, end: float, period_s: int) -> tuple[int, int] | None:
    """The [first, last) epoch seconds to ask for: whole periods from the first at or after
    `start` to the one holding `end`; None while no whole period has begun since `start`."""
    first = math.ceil(start / period_s) * period_s
    last = (math.floor(end / period_s) + 1) * period_s
    return (first, last) if end >= first else None


def metric_queries(source: VariantMetrics, period_s: int) -> list[dict[str, Any]]:
    """GetMetricData queries for the window's requests, 5xx answers and p95 latency."""
    dimensions = [{"Name": name, "Value": value} for name, value in source.dimensions]

    def query(id_: str, metric: str, stat: str) -> dict[str, Any]:
        return {
            "Id": id_,
            "MetricStat": {
                "Metric": {
                    "Namespace": source.namespace,
                    "MetricName": metric,
                    "Dimensions": dimensions,
                },
                "Period": period_s,
                "Stat": stat,
            },
            "ReturnData": True,
        }

    return [
        query("requests", INVOCATIONS, "Sum"),
        query("errors", ERRORS, "Sum"),
        query("latency", LATENCY, LATENCY_STAT),
    ]


def sample_of(results: list[dict[str, Any]]) -> SlotSample:
    """The window's sample from GetMetricData's results (a metric with no data counts 0;
    a p95 without data is unknown, not 0)."""
    by_id: dict[str, list[float]] = {}
    for result in results:
        if result.get("StatusCode") in ("Forbidden", "InternalError"):
            messages = "; ".join(m.get("Value", "") for m in result.get("Messages", []))
            raise CloudWatchError(
                f"CloudWatch answered {result['StatusCode']} for {result.get('Id')}: "
                f"{messages or 'no detail'}",
                hint=CREDENTIALS_HINT if result["StatusCode"] == "Forbidden" else "",
            )
        by_id.setdefault(str(result.get("Id")), []).extend(float(v) for v in result["Values"])
    latency = by_id.get("latency", [])
    return SlotSample(
        requests=sum(by_id.get("requests", [])),
        errors=sum(by_id.get("errors", [])),
        p95_ms=max(latency) / 1000 if latency else None,
    )


def make_client(region: str, timeout: float) -> Any:
    """A CloudWatch client with the standard credential chain; a few quick retries."""
    return sdk_client("cloudwatch", region, timeout, attempts=3)


def read_window(url: str, start: float, end: float, client: Any) -> SlotSample:
    """What the slot `url` names served between `start` and `end` (epoch seconds)."""
    from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

    source = parse_url(url)
    span = window(start, end, source.period_s)
    if span is None:
        return SlotSample()
    first, last = span
    asked: dict[str, Any] = {
        "MetricDataQueries": metric_queries(source, last - first),
        "StartTime": datetime.fromtimestamp(first, UTC),
        "EndTime": datetime.fromtimestamp(last, UTC),
        "ScanBy": "TimestampAscending",
    }
    results: list[dict[str, Any]] = []
    try:
        while True:
            answer = client.get_metric_data(**asked)
            results += answer.get("MetricDataResults", [])
            if not answer.get("NextToken"):
                break
            asked["NextToken"] = answer["NextToken"]
    except NoCredentialsError:
        raise CloudWatchError(
            f"no AWS credentials to read CloudWatch in {source.region}", hint=CREDENTIALS_HINT
        ) from None
    except ClientError as exc:
        error = exc.response.get("Error", {})
        raise CloudWatchError(
            f"CloudWatch in {source.region} refused GetMetricData: "
            f"{error.get('Code', '?')}: {error.get('Message', '')}",
            hint=CREDENTIALS_HINT if "Denied" in str(error.get("Code")) else "",
        ) from None
    except BotoCoreError as exc:
        raise CloudWatchError(f"cannot read CloudWatch in {source.region}: {exc}") from None
    return sample_of(results)


def read_span(url: str, start: float, end: float, timeout: float = 5.0) -> SlotSample:
    """`read_window` with a client of its own (one-off reads, such as a monitor run)."""
    return read_window(url, start, end, make_client(parse_url(url).region, timeout))


class CloudWatchMetrics(WindowSource):
    """One slot's CloudWatch series (`cloudwatch://…`); the client is made once, on first use."""

    def __init__(self, url: str, timeout: float = 5.0) -> None:
        self.source = parse_url(url)  # a malformed address fails before the rollout moves
        self.url, self.timeout = url, timeout
        self._client: Any = None

    @property
    def address(self) -> str:
        return self.url

    def window(self, start: float, end: float) -> SlotSample:
        if self._client is None:
            self._client = make_client(self.source.region, self.timeout)
        return read_window(self.url, start, end, self._client)
