"""A seeded, realistic credit-risk data set: numeric and categorical features, a sensitive
attribute (`sex`) and a label (`default`). Nothing is downloaded.

The label depends on the financial features only, never on `sex`, so a well-trained model is
fair; `drift=True` shifts incomes, ages, utilisation and the employment mix the way a
recession would, for the drift gate and monitoring.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

LABEL = "default"
SENSITIVE = "sex"
CATEGORIES = {
    "employment": ["salaried", "self_employed", "unemployed", "retired"],
    "home": ["rent", "own", "mortgage"],
    "purpose": ["car", "home", "education", "business", "personal"],
    "region": ["north", "south", "east", "west"],
}
EMPLOYMENT_RISK = {"salaried": -0.4, "self_employed": 0.2, "unemployed": 1.1, "retired": 0.0}


def generate(rows: int, seed: int, drift: bool = False) -> pd.DataFrame:
    """`rows` applicants drawn with `seed`; the same arguments always give the same frame."""
    rng = np.random.default_rng(seed)
    age = np.clip(rng.normal(42 + (8 if drift else 0), 12, rows), 18, 90).round()
    income = rng.lognormal(10.6, 0.5, rows) * (0.7 if drift else 1.0)
    employment = rng.choice(
        CATEGORIES["employment"], rows, p=[0.45, 0.2, 0.25, 0.1] if drift else [0.6, 0.2, 0.1, 0.1]
    )
    utilization = np.clip(rng.beta(2 + (2 if drift else 0), 5, rows), 0, 1)
    debt_ratio = np.clip(rng.gamma(2.0, 0.15, rows), 0, 3)
    late = rng.poisson(0.4 + 0.8 * utilization, rows)
    frame = pd.DataFrame(
        {
            "age": age.astype(np.int64),
            "income": income.round(2),
            "debt_ratio": debt_ratio.round(4),
            "utilization": utilization.round(4),
            "credit_history_months": rng.integers(6, 360, rows),
            "num_credit_lines": rng.integers(1, 15, rows),
            "late_payments_12m": late.astype(np.int64),
            "loan_amount": (rng.lognormal(9.5, 0.6, rows)).round(2),
            "loan_term_months": rng.choice([12, 24, 36, 48, 60], rows),
            "savings": (rng.lognormal(8.5, 1.2, rows)).round(2),
            "employment": employment,
            "home": rng.choice(CATEGORIES["home"], rows, p=[0.4, 0.25, 0.35]),
            "purpose": rng.choice(CATEGORIES["purpose"], rows),
            "region": rng.choice(CATEGORIES["region"], rows),
            SENSITIVE: rng.choice(["F", "M"], rows),
        }
    )
    frame[LABEL] = _default(frame, rng)
    return frame


def _default(frame: pd.DataFrame, rng: np.random.Generator) -> pd.Series:
    """Default depends on the financial picture only (never on `sex`)."""
    logit = 1.8 * (
        -1.6
        + 1.6 * frame["debt_ratio"]
        + 2.2 * frame["utilization"]
        + 0.55 * frame["late_payments_12m"]
        - 0.9 * (np.log(frame["income"]) - 10.6)
        - 0.004 * frame["credit_history_months"]
        + 0.25 * np.log(frame["loan_amount"] / frame["income"] * 10)
        + frame["employment"].map(EMPLOYMENT_RISK)
        - 0.15 * (np.log(frame["savings"]) - 8.5)
    )
    probability = 1 / (1 + np.exp(-logit))
    return pd.Series((rng.random(len(frame)) < probability).astype(np.int64), index=frame.index)


def write_csv(frame: pd.DataFrame, path: str) -> None:
    """CSV with fixed formatting, so the same frame always gives the same bytes (and DVC md5)."""
    frame.to_csv(path, index=False, float_format="%.6g", lineterminator="\n")
