"""Train the demo's credit-risk models and register them in MLflow.

`good` passes every gate; each other variant fails exactly one: `regressed` (the model gate),
`biased` (fairness), `drifted` (trained on recession-era data: the drift gate). Each version
records its training data (tag `shipyard.training_data`) so drift is measured against it.
"""

from __future__ import annotations

import contextlib
import io
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from pipelines.demo.dataset import LABEL, SENSITIVE
from validators.sources.registry import TRAINING_DATA_TAG

MODEL_NAME = "credit-risk"
# Types MLflow's skops format asks us to vouch for: we build these models ourselves.
TRUSTED_TYPES = [
    "functools.partial",
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
    "sklearn.utils.validation.check_array",
]
VARIANT_TAG = "shipyard.variant"


@dataclass(frozen=True)
class Variant:
    name: str
    training_data: str  # repository-relative path of the CSV it is trained on
    description: str
    features: Callable[[list[str]], list[str]]
    relabel: float = 0.0  # share of `F` applicants whose label is forced to default
    max_iter: int = 100
    wrapper: str | None = None  # an MLflow model-from-code file wrapping the estimator


VARIANTS = (
    Variant(
        "good",
        "data/credit/train.csv",
        "gradient boosting on every financial feature",
        lambda cols: cols,
    ),
    Variant(
        "regressed",
        "data/credit/train.csv",
        "a shallow model on four weak features",
        lambda cols: ["region", "num_credit_lines", "loan_term_months", "purpose"],
        max_iter=20,
    ),
    Variant(
        "biased",
        "data/credit/train.csv",
        "trained on labels biased against one sex, with sex as a feature",
        lambda cols: [*cols, SENSITIVE],
        relabel=0.3,
    ),
    Variant(
        "drifted",
        "data/credit/train-drifted.csv",
        "trained on recession-era data",
        lambda cols: cols,
    ),
    Variant(
        "faulty",
        "data/credit/train.csv",
        "the good model behind a serving-only lookup that fails on ~3% of live traffic",
        lambda cols: cols,
        wrapper="faulty_model.py",
    ),
)


def build_model(frame: pd.DataFrame, features: list[str], max_iter: int) -> Any:
    """A scikit-learn pipeline taking the raw columns (strings for categories)."""
    from sklearn.compose import make_column_transformer
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OrdinalEncoder

    categorical = [c for c in features if frame[c].dtype == object]
    encode = make_column_transformer(
        (OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1), categorical),
        remainder="passthrough",
        verbose_feature_names_out=False,
    )
    classifier = HistGradientBoostingClassifier(
        categorical_features=list(range(len(categorical))), max_iter=max_iter, random_state=0
    )
    return make_pipeline(encode, classifier).fit(frame[features], frame[LABEL])


def training_frame(variant: Variant, frame: pd.DataFrame) -> pd.DataFrame:
    if not variant.relabel:
        return frame
    rng = np.random.default_rng(7)
    biased = frame.copy()
    flip = (biased[SENSITIVE] == "F") & (rng.random(len(biased)) < variant.relabel)
    biased.loc[flip, LABEL] = 1
    return biased


def register(
    variant: Variant, frame: pd.DataFrame, data_digest: str, tracking_uri: str, artifacts: str
) -> str:
    """Train `variant` on `frame`, log it with its signature and register a new version."""
    import mlflow
    import sklearn

    features = variant.features([c for c in frame.columns if c not in (LABEL, SENSITIVE)])
    model = build_model(training_frame(variant, frame), features, variant.max_iter)
    mlflow.set_tracking_uri(tracking_uri)
    mlflow.set_registry_uri(tracking_uri)
    if mlflow.get_experiment_by_name(MODEL_NAME) is None:
        mlflow.create_experiment(MODEL_NAME, artifact_location=artifacts)
    mlflow.set_experiment(MODEL_NAME)
    quiet_mlflow()
    requirements = [
        f"scikit-learn=={sklearn.__version__}",
        f"pandas=={pd.__version__}",
        f"numpy=={np.__version__}",
    ]
    sample = frame[features].head(50)
    with mlflow.start_run(run_name=variant.name), contextlib.redirect_stderr(io.StringIO()):
        mlflow.log_params({"variant": variant.name, "features": len(features)})
        info = _log(variant, model, sample, requirements)
    version = str(info.registered_model_version)
    client = mlflow.MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)
    client.set_model_version_tag(MODEL_NAME, version, VARIANT_TAG, variant.name)
    client.set_model_version_tag(
        MODEL_NAME,
        version,
        TRAINING_DATA_TAG,
        json.dumps({"path": variant.training_data, "sha256": data_digest}),
    )
    client.update_model_version(MODEL_NAME, version, description=variant.description)
    return version


def _log(variant: Variant, model: Any, sample: pd.DataFrame, requirements: list[str]) -> Any:
    """Log the estimator (or its model-from-code wrapper) and register a version."""
    import tempfile
    from pathlib import Path

    import mlflow
    from mlflow.models import infer_signature

    signature = infer_signature(sample, model.predict_proba(sample))
    if variant.wrapper is None:
        return mlflow.sklearn.log_model(
            model,
            name="model",
            signature=signature,
            skops_trusted_types=TRUSTED_TYPES,
            pip_requirements=requirements,
            pyfunc_predict_fn="predict_proba",
            registered_model_name=MODEL_NAME,
        )
    with tempfile.TemporaryDirectory() as tmp:
        inner = Path(tmp) / "sklearn"
        mlflow.sklearn.save_model(
            model, str(inner), skops_trusted_types=TRUSTED_TYPES, pip_requirements=requirements
        )
        return mlflow.pyfunc.log_model(
            name="model",
            python_model=str(Path(__file__).with_name(variant.wrapper)),
            artifacts={"sklearn": str(inner)},
            signature=signature,
            pip_requirements=[*requirements, "skops"],
            registered_model_name=MODEL_NAME,
        )


def quiet_mlflow() -> None:
    """MLflow logs every registration and a pip warning at INFO/WARNING, and warns that
    integer columns cannot hold missing values; keep errors only."""
    import logging
    import warnings

    logging.getLogger("mlflow").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", message="Hint: Inferred schema contains integer")


def registered_variants(tracking_uri: str) -> dict[str, str]:
    """Variant name -> version already in the registry."""
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    client = MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)
    try:
        versions = client.search_model_versions(f"name='{MODEL_NAME}'")
    except MlflowException:
        return {}
    return {v.tags[VARIANT_TAG]: str(v.version) for v in versions if VARIANT_TAG in v.tags}
