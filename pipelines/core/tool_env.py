"""Process-wide defaults: every tool Shipyard drives runs quiet and offline."""

from __future__ import annotations

import os

# Telemetry off everywhere the project runs; set before any of these libraries is imported.
QUIET_ENV = {
    "DO_NOT_TRACK": "1",
    "DVC_NO_ANALYTICS": "1",
    "BENTOML_DO_NOT_TRACK": "true",
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "GX_ANALYTICS_ENABLED": "false",
    "PULUMI_SKIP_UPDATE_CHECK": "true",
    "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false",
}


def apply_quiet_defaults(environ: dict[str, str] | None = None) -> None:
    """Set each quiet variable unless the user already chose a value."""
    target = os.environ if environ is None else environ
    for key, value in QUIET_ENV.items():
        target.setdefault(key, value)
