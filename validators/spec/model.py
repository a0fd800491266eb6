"""The ModelDeployment v1 spec as frozen, typed objects; the JSON Schema is generated from them.

Optional fields default to None so "the user set it" differs from "the default": defaults are
applied in one place, `validators.spec.resolved`. Structure and types are checked here; rules
across fields (weights increasing, approvers enough, files present) live in `checks.py`.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from validators.spec.fields import (
    BUILTIN_TARGETS,
    BreachAction,
    ColumnType,
    DnsLabel,
    DriftMethod,
    Duration,
    FairnessMetric,
    Fraction,
    Identifier,
    LabelKey,
    LabelValue,
    MetricName,
    ModelUri,
    Owner,
    Positive,
    Quantity,
    RelativePath,
    TargetName,
    WaivableGate,
)

API_VERSION = "shipyard/v1"
KIND = "ModelDeployment"


class SpecObject(BaseModel):
    """Base of every spec object: frozen, strict types, unknown keys rejected."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True, populate_by_name=True)


def opt(description: str, *, examples: list[object] | None = None, **kw: object) -> Any:
    """A spec field: optional (None) unless `default=...` is passed, always described."""
    kw.setdefault("default", None)
    return Field(description=description, examples=examples, **kw)  # type: ignore[call-overload]


def req(description: str, *, examples: list[object] | None = None, **kw: object) -> Any:
    return Field(..., description=description, examples=examples, **kw)  # type: ignore[call-overload]


# --- metadata, model, data -------------------------------------------------------------------


class Metadata(SpecObject):
    """Who and what this deployment is."""

    name: DnsLabel = req(
        "Name of the model service; names its stacks, Bentos and MLflow aliases. A DNS label.",
        examples=["credit-risk"],
    )
    owners: list[Owner] = req(
        "GitHub users or teams who own the service; they review changes to this spec.",
        examples=[["@risk-ml"]],
        min_length=1,
    )
    description: str | None = opt("One or two sentences on what the model does, for reviewers.")
    labels: dict[LabelKey, LabelValue] | None = opt(
        "Free-form key/value labels copied onto every resource and ledger entry.",
        examples=[{"team": "risk", "tier": "critical"}],
    )


class Column(SpecObject):
    """One input column of the model."""

    name: str = req("Column name as the model expects it.", examples=["income"])
    type: ColumnType = req("Column type, in MLflow signature terms.", examples=["double"])
    nullable: bool | None = opt("Whether the column may be null (NaN).")


class ModelRef(SpecObject):
    """The model to deploy, from the MLflow registry."""

    uri: ModelUri = req(
        "MLflow registry URI of the model: a version (models:/NAME/3) or an alias "
        "(models:/NAME@champion). A version pins exactly what is reviewed.",
        examples=["models:/credit-risk/3"],
    )
    input_schema: list[Column] | None = opt(
        "Input columns, overriding the MLflow model signature; needed when the model has none.",
        min_length=1,
    )


class Dataset(SpecObject):
    """A DVC-tracked data file, optionally pinned to a git revision."""

    path: RelativePath = req(
        "Path of the DVC-tracked file, relative to the repository root.",
        examples=["data/credit/holdout.csv"],
    )
    rev: str | None = opt(
        "Git revision (commit, tag or branch) to read the file at; default: the applied commit.",
        examples=["v1.2.0"],
        min_length=1,
    )


class Data(SpecObject):
    """Data the offline gates run on."""

    evaluation: Dataset = req("Held-out data the model is scored on (metrics, fairness).")
    reference: Dataset | None = opt(
        "Data that drift is measured against. Default: the data the model was trained on, as "
        "recorded on its MLflow version (tag shipyard.training_data)."
    )
    label: str | None = opt(
        "Name of the label (target) column in the evaluation data.", examples=["default"]
    )
    sensitive_features: list[str] | None = opt(
        "Columns holding sensitive attributes; fairness gates are computed per group of each.",
        examples=[["sex"]],
    )
    expectations: RelativePath | None = opt(
        "Great Expectations suite (YAML or JSON) run on the evaluation and reference data.",
        examples=["validators/suites/credit.yaml"],
    )


# --- service -----------------------------------------------------------------------------------


class Batching(SpecObject):
    """Adaptive batching of the serving API (BentoML)."""

    max_batch_size: int | None = opt("Largest batch the model is called with.", ge=1, le=10000)
    max_latency_ms: int | None = opt(
        "Latency budget of adaptive batching, in milliseconds: a batch waits at most this long "
        "to fill, and a request that cannot be served within it is shed with 503 (BentoML). "
        "Too low a budget sheds requests under load.",
        ge=1,
        le=60000,
    )


class Resources(SpecObject):
    """Compute for each server (Kubernetes-style quantities)."""

    cpu: Quantity | None = opt("CPU per server, e.g. 500m or 2.", examples=["1"])
    memory: Quantity | None = opt("Memory per server, e.g. 512Mi or 2Gi.", examples=["1Gi"])


class Service(SpecObject):
    """How the model is served."""

    api: Identifier | None = opt(
        "Name of the prediction endpoint (POST /NAME).", examples=["predict"]
    )
    batching: Batching | None = opt("Adaptive batching; omit to use the defaults.")
    workers: int | None = opt("Worker processes per server.", ge=1, le=64)
    resources: Resources | None = opt("CPU and memory per server.")
    timeout: Duration | None = opt("Request timeout.", examples=["30s"])
    max_request_size: Quantity | None = opt(
        "Largest accepted request body, e.g. 10Mi or 1Gi.", examples=["10Mi"]
    )


# --- gates -----------------------------------------------------------------------------------


class MetricGate(SpecObject):
    """A threshold on one model metric, measured on the evaluation data."""

    metric: MetricName = req("Metric to compute.", examples=["roc_auc"])
    min: float | None = opt("Lowest acceptable value.", examples=[0.8])
    max: float | None = opt("Highest acceptable value (for losses and errors).")
    max_regression: float | None = opt(
        "Largest acceptable drop against the version serving the environment (absolute, in the "
        "metric's units; for losses, the largest acceptable rise).",
        examples=[0.01],
        ge=0,
    )


class FairnessGate(SpecObject):
    """A disparity limit for one sensitive feature."""

    metric: FairnessMetric = req(
        "Disparity metric: differences are best at 0, ratios at 1.",
        examples=["demographic_parity_difference"],
    )
    feature: str = req("Sensitive feature (one of data.sensitive_features).", examples=["sex"])
    max: Fraction | None = opt("Highest acceptable value (for differences).", examples=[0.1])
    min: Fraction | None = opt("Lowest acceptable value (for ratios).", examples=[0.8])


class DriftGate(SpecObject):
    """Data drift of the evaluation data against the reference data."""

    method: DriftMethod = req("Drift statistic per feature.", examples=["psi"])
    max: Positive = req("Highest acceptable drift score of any feature.", examples=[0.2])
    features: list[str] | None = opt("Features to check. Default: every input column.")


class LoadProfile(SpecObject):
    """Synthetic load for the serving gate."""

    rps: Positive = req("Requests per second to send.", examples=[100])
    duration: Duration = req("How long to send them.", examples=["20s"])


class ServingGate(SpecObject):
    """Limits measured on a running server (staging load test, production canary analysis)."""

    latency_p95_ms: Positive | None = opt("Highest acceptable p95 latency, ms.", examples=[50])
    error_rate_max: Fraction | None = opt(
        "Highest acceptable share of failed (5xx) requests.", examples=[0.01]
    )
    load: LoadProfile | None = opt("Load to apply in staging.")


class Gates(SpecObject):
    """What a model must pass before it goes further."""

    model: list[MetricGate] | None = opt("Metric thresholds and regression limits.")
    fairness: list[FairnessGate] | None = opt("Disparity limits per sensitive feature.")
    drift: DriftGate | None = opt("Drift limit of evaluation vs reference data.")
    serving: ServingGate | None = opt("Latency and error limits of the running service.")


# --- environments ------------------------------------------------------------------------------


class LocalSettings(SpecObject):
    """Settings of the `local` target (supervisord + nginx on this host)."""

    port: int | None = opt(
        "Port nginx listens on (127.0.0.1). Default: chosen per environment.", ge=1024, le=65535
    )


class KubernetesSettings(SpecObject):
    """Settings of the `kubernetes` target."""

    namespace: DnsLabel | None = opt("Namespace to deploy into. Default: the spec name.")
    context: str | None = opt("kubeconfig context. Default: the current context.")
    ingress_class: str | None = opt("Ingress class of the NGINX ingress controller.")
    host: str | None = opt("Host name the service answers on.", examples=["credit.example.com"])
    image: str | None = opt("Container image of the Bento; default: the image CI built.")
    prometheus_url: str | None = opt("Prometheus address for canary analysis.")


class AwsSettings(SpecObject):
    """Settings of the `aws` target (SageMaker endpoint with two production variants)."""

    region: str | None = opt("AWS region. Default: from the environment.", examples=["eu-west-1"])
    instance_type: str | None = opt("SageMaker instance type.", examples=["ml.m5.large"])
    role_arn: str | None = opt("IAM role SageMaker assumes to run the model.")
    image: str | None = opt("ECR image of the Bento; default: the image CI built.")


class Approval(SpecObject):
    """Reviewers who must approve in the pull request before this environment changes."""

    required: int = req("How many approvals are needed.", examples=[1], ge=1)
    from_: list[Owner] = req(
        "Who may approve: GitHub users or teams.",
        examples=[["@risk-ml", "@compliance"]],
        alias="from",
        min_length=1,
    )
    gate: WaivableGate | None = opt(
        "Makes this a waiver rule: a failed offline gate of this group (data, model, fairness, "
        "drift; serving gates are never waived) may go on to this environment, and the ones "
        "before it, once this rule is met by waivers with a reason (`shipyard approve --waive "
        "GATE --reason WHY`, or a line `/waive GATE: WHY` in an approving pull-request review). "
        "Omit for approval of the deployment itself."
    )


class PauseStep(SpecObject):
    """Argument of an `analysis` step."""

    duration: Duration = req("How long to analyse before the next step.", examples=["1m"])


class CanaryStep(SpecObject):
    """One rollout step: exactly one of `weight`, `pause`, `analysis` (as in Argo Rollouts)."""

    model_config = ConfigDict(
        json_schema_extra={
            "oneOf": [{"required": ["weight"]}, {"required": ["pause"]}, {"required": ["analysis"]}]
        }
    )

    weight: int | None = opt("Send this percentage of traffic to the canary.", ge=1, le=100)
    pause: Duration | None = opt("Wait this long, analysing at every interval.", examples=["30s"])
    analysis: PauseStep | None = opt("Analyse for a while before the next step.")


class Analysis(SpecObject):
    """How canary analysis judges the canary against the stable version."""

    interval: Duration | None = opt("Time between two measurements.")
    failure_limit: int | None = opt("Failed measurements tolerated; one more rolls back.", ge=0)
    min_requests: int | None = opt(
        "Canary requests needed before a measurement can fail or pass.", ge=1
    )


class Rollout(SpecObject):
    """How a new version replaces the running one."""

    strategy: Literal["canary", "direct"] | None = opt(
        "canary: shift traffic in steps with analysis; direct: replace at once. Default: canary "
        "when steps are given, else direct."
    )
    steps: list[CanaryStep] | None = opt(
        "Canary steps, in order; weights must end at 100. On `aws` (judged on CloudWatch) the "
        "pause and analysis steps must add up to 5m or more."
    )
    analysis: Analysis | None = opt("Canary analysis settings.")


class Environment(SpecObject):
    """One stage of the promotion path; environments are deployed in the order listed."""

    name: DnsLabel = req("Environment name.", examples=["production"])
    target: TargetName = req("Where it runs.", examples=["local"])
    local: LocalSettings | None = opt("Settings when target is local.")
    kubernetes: KubernetesSettings | None = opt("Settings when target is kubernetes.")
    aws: AwsSettings | None = opt("Settings when target is aws.")
    replicas: int | None = opt("Servers per slot.", ge=1, le=100)
    approvals: list[Approval] | None = opt("Approvals required before this environment changes.")
    rollout: Rollout | None = opt(
        "How the new version is rolled out; omit to replace the running version at once."
    )

    @field_validator("target")
    @classmethod
    def _known_target(cls, value: str, info: ValidationInfo) -> str:
        """A target the pipeline can deploy to: the built-ins, or the names the caller passes
        as validation context (`{"targets": [...]}`: the registry's, with plugins)."""
        context = info.context if isinstance(info.context, dict) else {}
        known = tuple(context.get("targets") or BUILTIN_TARGETS)
        if value not in known:
            expected = ", ".join(f"'{name}'" for name in known)
            raise PydanticCustomError("literal_error", "unknown target", {"expected": expected})
        return value


# --- monitoring --------------------------------------------------------------------------------


class DriftMonitor(SpecObject):
    """Input drift of live traffic against the reference data."""

    method: DriftMethod | None = opt("Drift statistic. Default: the drift gate's, else psi.")
    max: Positive = req("Highest acceptable drift score of any feature.", examples=[0.25])
    action: BreachAction | None = opt("What to do on a breach.")


class SloMonitor(SpecObject):
    """Latency and error objectives of live traffic."""

    latency_p95_ms: Positive | None = opt("Highest acceptable p95 latency, ms.")
    error_rate_max: Fraction | None = opt("Highest acceptable share of failed requests.")
    action: BreachAction | None = opt("What to do on a breach.")


class Monitoring(SpecObject):
    """Checks after release (`shipyard monitor`) and what to do when they fail."""

    window: Duration | None = opt("Traffic window each check reads.")
    drift: DriftMonitor | None = opt("Input drift check.")
    slo: SloMonitor | None = opt("Latency and error-rate check.")


class ModelDeployment(SpecObject):
    """Deployment intent of one model service: what to deploy, the gates, where, and how."""

    model_config = ConfigDict(title="ModelDeployment")

    api_version: Literal["shipyard/v1"] = req(
        "Version of this format.", alias="apiVersion", examples=[API_VERSION]
    )
    kind: Literal["ModelDeployment"] = req("Kind of object.", examples=[KIND])
    metadata: Metadata = req("Name, owners and labels.")
    model: ModelRef = req("The model to deploy.")
    data: Data | None = opt(
        "Data the offline gates run on; required by data, model, fairness and drift gates."
    )
    service: Service | None = opt("Serving API, batching, workers and resources.")
    gates: Gates | None = opt("What must pass before the model goes further.")
    environments: list[Environment] = req(
        "Promotion path, in order (e.g. staging, then production).", min_length=1
    )
    monitoring: Monitoring | None = opt("Checks after release.")
