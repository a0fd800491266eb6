"""A demo model that is right offline and wrong only when serving.

It stands for a model whose serving path calls a dependency that offline scoring never
touches (say, an online feature lookup): inside a served slot (`SHIPYARD_SLOT` is set) that
call fails for one narrow slice of applicants — education loans for home owners outside the
south, about 3% of traffic. Offline gates score it like the good model, staging's smoke rows
and single-row load test do not hit the slice; only live traffic in the canary does.

Logged as an MLflow "model from code": this file travels with the model.
"""

import os
from typing import Any

import mlflow.pyfunc
from mlflow.models import set_model


class FaultyModel(mlflow.pyfunc.PythonModel):  # type: ignore[misc,name-defined]
    def load_context(self, context: Any) -> None:
        import mlflow.sklearn

        self.model = mlflow.sklearn.load_model(context.artifacts["sklearn"])
        self.serving = bool(os.environ.get("SHIPYARD_SLOT"))

    def predict(self, context: Any, model_input: Any, params: Any = None) -> Any:
        if self.serving:
            broken = (
                (model_input["purpose"] == "education")
                & (model_input["home"] == "own")
                & (model_input["region"] != "south")
            )
            if bool(broken.any()):
                raise ValueError("online feature lookup failed for an education loan")
        return self.model.predict_proba(model_input)


set_model(FaultyModel())
