"""Constrained scalar types of the spec, each with a human description of its pattern.

The pattern descriptions feed both the error messages and the generated docs, so a pattern is
never shown to a user raw.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints

DNS_LABEL = r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$"
OWNER = r"^@[A-Za-z0-9][-A-Za-z0-9_]*(/[A-Za-z0-9][-A-Za-z0-9_.]*)?$"
MODEL_URI = r"^models:/[A-Za-z0-9][-A-Za-z0-9_.]*(/[1-9][0-9]*|@[A-Za-z][-A-Za-z0-9_]*)$"
DURATION = r"^([0-9]{1,9}(\.[0-9]{1,6})?(ms|s|m|h))+$"
QUANTITY = r"^[0-9]{1,12}(\.[0-9]{1,6})?(m|k|M|G|Ki|Mi|Gi)?$"
IDENTIFIER = r"^[A-Za-z_][A-Za-z0-9_]*$"
LABEL_KEY = r"^([a-z0-9]([-a-z0-9.]*[a-z0-9])?/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$"
LABEL_VALUE = r"^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$"
RELATIVE_PATH = r"^[^/]"
TARGET_NAME = r"^[a-z][a-z0-9-]{0,30}$"

PATTERN_MEANING = {
    DNS_LABEL: "a DNS label: lowercase letters, digits and '-', starting and ending with a "
    "letter or digit, at most 63 characters (e.g. credit-risk)",
    OWNER: "a GitHub user or team: @user or @org/team",
    MODEL_URI: "an MLflow registry URI: models:/NAME/VERSION or models:/NAME@ALIAS "
    "(e.g. models:/credit-risk/3, models:/credit-risk@champion)",
    DURATION: "a duration: a number and a unit ms, s, m or h, e.g. 500ms, 30s, 5m, 1h30m",
    QUANTITY: "a Kubernetes-style quantity, e.g. 500m or 2 (CPU), 512Mi or 2Gi (memory)",
    IDENTIFIER: "a Python identifier: letters, digits and '_', not starting with a digit",
    LABEL_KEY: "a label key: [prefix/]name, name up to 63 of letters, digits, '-', '_', '.'",
    LABEL_VALUE: "a label value: up to 63 of letters, digits, '-', '_', '.'",
    RELATIVE_PATH: "a path relative to the repository root (no leading '/')",
    TARGET_NAME: "a target name: local, kubernetes, aws, or one a plugin registers "
    "(lowercase letters, digits and '-')",
}


def pattern(regex: str) -> StringConstraints:
    return StringConstraints(pattern=regex)


DnsLabel = Annotated[str, pattern(DNS_LABEL), Field(max_length=63)]
Owner = Annotated[str, pattern(OWNER)]
ModelUri = Annotated[str, pattern(MODEL_URI)]
Duration = Annotated[str, pattern(DURATION)]
Quantity = Annotated[str, pattern(QUANTITY)]
Identifier = Annotated[str, pattern(IDENTIFIER)]
LabelKey = Annotated[str, pattern(LABEL_KEY)]
LabelValue = Annotated[str, pattern(LABEL_VALUE)]
RelativePath = Annotated[str, pattern(RELATIVE_PATH)]
Fraction = Annotated[float, Field(ge=0, le=1)]
Positive = Annotated[float, Field(gt=0)]

TargetName = Annotated[str, pattern(TARGET_NAME)]
# The targets that ship with Shipyard (their settings blocks are part of the spec); the
# pipeline passes the registry's names, which may add plugins' targets.
BUILTIN_TARGETS = ("local", "kubernetes", "aws")
MetricName = Literal[
    "accuracy", "precision", "recall", "f1", "roc_auc", "log_loss", "rmse", "mae", "r2"
]
# Metrics bounded to 0..1 where higher is better; the rest are errors/losses (lower is better)
# except r2 (at most 1, higher is better).
BOUNDED_METRICS = frozenset({"accuracy", "precision", "recall", "f1", "roc_auc"})
LOWER_IS_BETTER = frozenset({"log_loss", "rmse", "mae"})
FairnessMetric = Literal[
    "demographic_parity_difference",
    "demographic_parity_ratio",
    "equalized_odds_difference",
    "equalized_odds_ratio",
]
DriftMethod = Literal["psi", "ks", "wasserstein", "jensen_shannon"]
ColumnType = Literal["double", "float", "long", "integer", "boolean", "string", "datetime"]
# Gate groups a waiver rule may name (serving gates measure the running service: never waived).
WaivableGate = Literal["data", "model", "fairness", "drift"]
BreachAction = Literal["alert", "propose_retrain", "rollback"]
