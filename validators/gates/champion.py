"""Champion/challenger: is the new model worse than the one serving the environment?

Both models are scored on the same evaluation rows. A paired bootstrap resamples rows (the same
rows for both models) to put a confidence interval and a one-sided p-value on the regression;
for accuracy McNemar's test on the discordant rows is added as evidence.

The gate passes on the point estimate: `regression <= max_regression`. Significance is
reported so a reviewer can tell a real regression from noise, but it never decides the gate.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.stats import binomtest, chi2

from validators.gates.metrics import METRICS, THRESHOLD, Metric, metric
from validators.gates.result import Gate, GateResult, compare, fmt, stopwatch
from validators.spec.model import MetricGate

Array = NDArray[np.float64]
Draws = NDArray[np.intp]  # row indices drawn, one resample per row: shape (b, n)
Batch = Callable[[Draws], Array]  # drawn indices -> the metric of each resample, shape (b,)
CHUNK_CELLS = 2_000_000  # resample x row cells held in memory at once
EXACT_BELOW = 25  # McNemar: exact binomial test below this many discordant pairs
ALPHA = 0.05


@dataclass(frozen=True)
class Comparison:
    """Champion vs challenger on one metric. `regression` > 0 means the challenger is worse.

    `ci_low`/`ci_high` bound the 95% percentile interval of the bootstrap regressions.
    `p_value` is one-sided, for "the challenger is worse": the share of resamples in which it
    is not worse (regression <= 0), as (1 + count) / (1 + resamples) so it is never 0.
    `significant` is `p_value < 0.05`. `resamples` counts those where the metric is defined.
    """

    metric: str
    champion: float
    challenger: float
    regression: float
    ci_low: float
    ci_high: float
    p_value: float
    significant: bool
    resamples: int
    rows: int

    def to_json(self) -> dict[str, Any]:
        return {k: _finite(v) if isinstance(v, float) else v for k, v in asdict(self).items()}


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


def _ratio(top: Array, bottom: Array, empty: float) -> Array:
    safe = np.where(bottom > 0, bottom, 1.0)
    return np.where(bottom > 0, top / safe, empty)


def _r2(sums: Array, n: int) -> Array:
    sse, total_y, total_y2 = sums[:, 0], sums[:, 1], sums[:, 2]
    spread = total_y2 - total_y**2 / n
    defined = spread > 1e-12 * np.maximum(total_y2, 1e-300)
    return np.where(defined, 1 - sse / np.where(defined, spread, 1.0), np.nan)


def _log_loss_rows(y: Array, s: Array) -> Array:
    clipped = np.clip(s, 1e-15, 1 - 1e-15)
    return np.asarray(-(y * np.log(clipped) + (1 - y) * np.log(1 - clipped)), dtype=np.float64)


def _f1(sums: Array) -> Array:
    return _ratio(2 * sums[:, 0], sums[:, 1] + sums[:, 2], 0.0)


# Metrics that are functions of per-row sums: (row statistics (n, k), sums (b, k) -> values).
RowStats = Callable[[Array, Array], list[NDArray[Any]]]
_SUMS: dict[str, tuple[RowStats, Callable[[Array, int], Array]]] = {
    "accuracy": (lambda y, s: [(s >= THRESHOLD) == y], lambda t, n: t[:, 0] / n),
    "precision": (
        lambda y, s: [(s >= THRESHOLD) * y, s >= THRESHOLD],
        lambda t, n: _ratio(t[:, 0], t[:, 1], 0.0),
    ),
    "recall": (lambda y, s: [(s >= THRESHOLD) * y, y], lambda t, n: _ratio(t[:, 0], t[:, 1], 0.0)),
    "f1": (lambda y, s: [(s >= THRESHOLD) * y, s >= THRESHOLD, y], lambda t, n: _f1(t)),
    "log_loss": (lambda y, s: [_log_loss_rows(y, s)], lambda t, n: t[:, 0] / n),
    "rmse": (lambda y, s: [(y - s) ** 2], lambda t, n: np.sqrt(t[:, 0] / n)),
    "mae": (lambda y, s: [np.abs(y - s)], lambda t, n: t[:, 0] / n),
    "r2": (lambda y, s: [(y - s) ** 2, y, y**2], _r2),
}


def _auc_batch(y: Array, s: Array) -> Batch:
    """Exact ROC AUC of each resample (ties count one half, as sklearn's roc_auc_score).

    Rows are coded (tie group of the score, label); per resample, counting the drawn codes
    gives positives and negatives per score, and AUC = sum(pos * (neg below + neg tied / 2))
    / (positives * negatives), in integers.
    """
    order = np.argsort(s, kind="stable")
    ranked = s[order]
    group = np.empty(s.size, dtype=np.int64)
    group[order] = np.cumsum(np.r_[True, ranked[1:] != ranked[:-1]]) - 1
    codes = group * 2 + (y > 0)
    bins = 2 * (int(group.max()) + 1)

    def batch(draws: Draws) -> Array:
        out = np.empty(len(draws))
        for i, drawn in enumerate(np.take(codes, draws)):
            counts = np.bincount(drawn, minlength=bins)
            neg, pos = counts[0::2], counts[1::2]
            pairs = int(pos.sum()) * int(neg.sum())
            wins = int(pos @ (2 * np.cumsum(neg) - neg)) / 2
            out[i] = wins / pairs if pairs else math.nan
        return out

    return batch


def _batch(m: Metric, y: Array, s: Array) -> Batch:
    """The metric of each resample, given the drawn row indices, shape (resamples, n)."""
    if METRICS.get(m.name) == m and m.name == "roc_auc":
        return _auc_batch(y, s)
    if METRICS.get(m.name) == m and m.name in _SUMS:
        rows, combine = _SUMS[m.name]
        stats = [np.asarray(r, dtype=np.float64) for r in rows(y, s)]
        return lambda draws: combine(
            np.column_stack([np.take(stat, draws).sum(axis=1) for stat in stats]), len(y)
        )
    return lambda draws: np.asarray([m(y[row], s[row]) for row in draws], dtype=np.float64)


def _as_arrays(*arrays: ArrayLike) -> list[Array]:
    out = [np.asarray(a, dtype=np.float64).ravel() for a in arrays]
    if len({a.size for a in out}) != 1 or out[0].size == 0:
        raise ValueError(f"need equal, non-zero lengths; got {[a.size for a in out]}")
    return out


def paired_bootstrap(
    y_true: ArrayLike,
    champion_output: ArrayLike,
    challenger_output: ArrayLike,
    metric: Metric,
    n_boot: int = 1000,
    seed: int = 0,
) -> Comparison:
    """Paired bootstrap of `metric.regression_of(champion, challenger)` over the rows.

    Each resample draws n rows with replacement (seeded); both models are scored on the same
    rows. Registry metrics are vectorised over a chunk of resamples at a time (bounded memory;
    roc_auc exact, ties as one half); a metric not in the registry is called per resample.
    """
    y, champ, chall = _as_arrays(y_true, champion_output, challenger_output)
    champion_value, challenger_value = metric(y, champ), metric(y, chall)
    champ_batch, chall_batch = _batch(metric, y, champ), _batch(metric, y, chall)
    rng = np.random.default_rng(seed)
    step = max(1, CHUNK_CELLS // y.size)
    sign = 1.0 if metric.higher_is_better else -1.0
    parts = []
    for start in range(0, n_boot, step):
        draws = rng.integers(0, y.size, size=(min(step, n_boot - start), y.size))
        parts.append(sign * (champ_batch(draws) - chall_batch(draws)))
    regressions = np.concatenate(parts) if parts else np.empty(0)
    regressions = regressions[np.isfinite(regressions)]
    low, high = (
        (float(np.quantile(regressions, 0.025)), float(np.quantile(regressions, 0.975)))
        if regressions.size
        else (math.nan, math.nan)
    )
    p_value = float((1 + np.sum(regressions <= 0)) / (1 + regressions.size))
    return Comparison(
        metric=metric.name,
        champion=champion_value,
        challenger=challenger_value,
        regression=metric.regression_of(champion_value, challenger_value),
        ci_low=low,
        ci_high=high,
        p_value=p_value,
        significant=bool(regressions.size) and p_value < ALPHA,
        resamples=int(regressions.size),
        rows=int(y.size),
    )


def mcnemar(
    y_true: ArrayLike, champion_labels: ArrayLike, challenger_labels: ArrayLike
) -> tuple[float, float]:
    """McNemar's test of equal accuracy: (statistic, two-sided p-value).

    b = rows only the champion gets right, c = rows only the challenger gets right. With
    b + c < 25 the exact binomial test (statistic min(b, c)); otherwise chi-square with
    continuity correction, (|b - c| - 1)^2 / (b + c) on 1 degree of freedom. No discordant
    rows: (0.0, 1.0).
    """
    y, champ, chall = _as_arrays(y_true, champion_labels, challenger_labels)
    champion_right, challenger_right = champ == y, chall == y
    b = int(np.sum(champion_right & ~challenger_right))
    c = int(np.sum(~champion_right & challenger_right))
    if b + c == 0:
        return 0.0, 1.0
    if b + c < EXACT_BELOW:
        return float(min(b, c)), float(binomtest(b, b + c, 0.5).pvalue)
    statistic = (abs(b - c) - 1) ** 2 / (b + c)
    return float(statistic), float(chi2.sf(statistic, 1))


def _note(found: Comparison) -> str:
    head = f"challenger {fmt(found.challenger)} vs champion {fmt(found.champion)}"
    p = "p<0.001" if found.p_value < 0.001 else f"p={found.p_value:.2g}"
    if found.significant:
        return f"{head}; significantly worse ({p})"
    return f"{head}; {'within noise' if found.regression > 0 else 'not worse'} ({p})"


def _mcnemar_evidence(y: Array, champ: Array, chall: Array) -> dict[str, Any]:
    champ_labels, chall_labels = champ >= THRESHOLD, chall >= THRESHOLD
    statistic, p_value = mcnemar(y, champ_labels, chall_labels)
    return {
        "statistic": statistic,
        "p_value": p_value,
        "only_champion_right": int(np.sum((champ_labels == y) & (chall_labels != y))),
        "only_challenger_right": int(np.sum((champ_labels != y) & (chall_labels == y))),
    }


def _one(
    arrays: list[Array], gate: MetricGate, versions: tuple[str, str], seed: int, n_boot: int
) -> GateResult:
    y, champ, chall = arrays
    used = metric(gate.metric)
    name = f"{used.name} regression vs {versions[0]}"
    threshold = gate.max_regression
    found = paired_bootstrap(y, champ, chall, used, n_boot=n_boot, seed=seed)
    if not (math.isfinite(found.champion) and math.isfinite(found.challenger)):
        error = f"{used.name} is undefined on the evaluation data (e.g. only one class)"
        return GateResult(Gate.CHAMPION, name, False, None, threshold, "<=", error=error)
    evidence: dict[str, Any] = {
        **found.to_json(),
        "champion_version": versions[0],
        "challenger_version": versions[1],
        "higher_is_better": used.higher_is_better,
        "test": "paired bootstrap; one-sided p = share of resamples where the challenger is "
        "not worse",
        "decision": "point estimate vs max_regression; significance is reported, not used",
    }
    if used.name == "accuracy":
        evidence["mcnemar"] = _mcnemar_evidence(y, champ, chall)
    passed = threshold is not None and compare(found.regression, "<=", threshold)
    return GateResult(
        Gate.CHAMPION, name, passed, found.regression, threshold, "<=", evidence, note=_note(found)
    )


def champion_results(
    y_true: ArrayLike,
    champion_output: ArrayLike,
    challenger_output: ArrayLike,
    gates: list[MetricGate],
    champion_version: str,
    challenger_version: str,
    n_boot: int = 1000,
    seed: int = 0,
) -> list[GateResult]:
    """One `champion` result per gate with `max_regression` set (the others are skipped).

    Outputs are what `validators.gates.metrics` takes: the positive-class probability for
    classification, predictions for regression. Passes when `regression <= max_regression`.
    """
    arrays = _as_arrays(y_true, champion_output, challenger_output)
    versions = (champion_version, challenger_version)
    results = []
    for gate in gates:
        if gate.max_regression is None:
            continue
        with stopwatch() as elapsed:
            result = _one(arrays, gate, versions, seed, n_boot)
        results.append(result.timed(elapsed[0]))
    return results
