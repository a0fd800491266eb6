"""Data drift of current data against reference data, per feature.

A `Profile` is built once from the reference data: per numeric feature the bin edges (reference
quantiles, deduplicated) and per categorical feature the category list, each with the reference
counts. `Profile.counts(frame)` bins any frame into the same buckets, so a monitor can stream
live traffic chunk by chunk, add the counts and call `psi` / `js_distance` on the totals in
bounded memory. KS and Wasserstein need the raw values, so only `feature_drift` computes them.

Decisions:
- A feature is categorical when its dtype is object, category, bool or string; every other
  dtype is numeric (datetimes as epoch seconds). Numeric values that do not parse become missing.
- Numeric buckets are open-ended: `(-inf, e0), [e0, e1), ..., [e_last, inf)`, so values outside
  the reference range land in the outer buckets. Categories unseen in the reference (and those
  beyond `max_categories`) land in `(other)`.
- Missing values (NaN/None/NaT) are their own bucket, `(missing)`, the last one of every
  feature: a change of the missing rate is drift that PSI, JS and chi-square see. KS and
  Wasserstein drop missing values.
- The `wasserstein` gate method uses the Wasserstein distance divided by the reference standard
  deviation (ddof=0), so thresholds are unit-free; a constant reference keeps the raw distance.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from itertools import pairwise
from typing import Any, Literal

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy.spatial.distance import jensenshannon
from scipy.stats import chi2_contingency, ks_2samp, wasserstein_distance

from validators.gates.result import Gate, GateResult, compare, fmt, stopwatch
from validators.spec.model import DriftGate

Kind = Literal["numeric", "categorical"]
Counts = NDArray[np.int64]
Floats = NDArray[np.float64]
MISSING = "(missing)"
OTHER = "(other)"
MAX_CATEGORIES = 50
TOP = 3


def is_categorical(series: pd.Series) -> bool:
    """Object, category, bool and string dtypes are categorical; the rest numeric."""
    dtype = series.dtype
    return bool(
        pd.api.types.is_object_dtype(dtype)
        or isinstance(dtype, pd.CategoricalDtype)
        or pd.api.types.is_bool_dtype(dtype)
        or pd.api.types.is_string_dtype(dtype)
    )


def numeric_values(series: pd.Series) -> Floats:
    """The values as float64, NaN where missing or not a number."""
    if pd.api.types.is_datetime64_any_dtype(series.dtype):
        stamps = pd.to_datetime(series, utc=True)
        seconds = (stamps - pd.Timestamp(0, tz="UTC")).dt.total_seconds()
        return np.asarray(seconds.to_numpy(dtype=np.float64, na_value=np.nan), dtype=np.float64)
    if not pd.api.types.is_numeric_dtype(series.dtype) or is_categorical(series):
        series = pd.to_numeric(series, errors="coerce")
    return np.asarray(series.to_numpy(dtype=np.float64, na_value=np.nan), dtype=np.float64)


@dataclass(frozen=True)
class FeatureProfile:
    """How one feature is bucketed, and the reference counts per bucket.

    Numeric: `edges` are the interior cut points (bucket i holds `edges[i-1] <= x < edges[i]`).
    Categorical: `categories` in order of reference frequency. Either way the buckets are
    followed by `(missing)`, and categorical ones by `(other)` before it.
    """

    name: str
    kind: Kind
    edges: tuple[float, ...]
    categories: tuple[str, ...]
    reference_counts: tuple[int, ...]
    scale: float  # reference std (numeric); 1.0 when constant or categorical

    @classmethod
    def build(
        cls, series: pd.Series, bins: int = 10, max_categories: int = MAX_CATEGORIES
    ) -> FeatureProfile:
        """Profile `series` (the reference): `bins` quantile buckets or its top categories."""
        name = str(series.name)
        if is_categorical(series):
            ranked = series.dropna().astype(str).value_counts(sort=True).index[:max_categories]
            empty = cls(name, "categorical", (), tuple(str(c) for c in ranked), (), 1.0)
            return empty.counted(series)
        values = numeric_values(series)
        finite = values[np.isfinite(values)]
        if finite.size == 0:
            return cls(name, "numeric", (), (), (), 1.0).counted(series)
        quantiles = np.quantile(finite, np.linspace(0.0, 1.0, bins + 1)[1:-1])
        edges = tuple(float(e) for e in np.unique(quantiles))
        std = float(np.std(finite))
        return cls(name, "numeric", edges, (), (), std if std > 0 else 1.0).counted(series)

    def counted(self, reference: pd.Series) -> FeatureProfile:
        """This profile with `reference_counts` counted from `reference`."""
        return replace(self, reference_counts=tuple(int(c) for c in self.counts(reference)))

    @property
    def reference(self) -> Counts:
        return np.asarray(self.reference_counts, dtype=np.int64)

    def labels(self) -> list[str]:
        """One label per bucket, in bucket order."""
        if self.kind == "categorical":
            return [*self.categories, OTHER, MISSING]
        bounds = ["-inf", *(fmt(e) for e in self.edges), "inf"]
        spans = [f"[{lo}, {hi})" for lo, hi in pairwise(bounds)]
        return [*spans, MISSING]

    def counts(self, series: pd.Series) -> Counts:
        """How many values of `series` fall in each bucket."""
        if self.kind == "categorical":
            missing = series.isna().to_numpy()
            present = series[~missing].astype(str)
            codes = pd.Categorical(present, categories=list(self.categories)).codes
            known = np.bincount(codes.astype(np.int64) + 1, minlength=len(self.categories) + 1)
            counts = [*known[1:], known[0], int(missing.sum())]
            return np.asarray(counts, dtype=np.int64)
        values = numeric_values(series)
        nan = np.isnan(values)
        buckets = np.searchsorted(np.asarray(self.edges), values[~nan], side="right")
        binned = np.bincount(buckets, minlength=len(self.edges) + 1)
        return np.asarray([*binned, int(nan.sum())], dtype=np.int64)


@dataclass(frozen=True)
class Profile:
    """The `FeatureProfile` of each feature of a reference frame."""

    features: dict[str, FeatureProfile]

    @classmethod
    def from_frame(
        cls,
        reference: pd.DataFrame,
        features: list[str] | None = None,
        bins: int = 10,
        max_categories: int = MAX_CATEGORIES,
    ) -> Profile:
        names = [str(c) for c in reference.columns] if features is None else features
        return cls({n: FeatureProfile.build(reference[n], bins, max_categories) for n in names})

    def counts(self, frame: pd.DataFrame) -> dict[str, Counts]:
        """Bucket counts of `frame` per profiled feature (all must be columns of `frame`)."""
        return {name: fp.counts(frame[name]) for name, fp in self.features.items()}


def _proportions(counts: NDArray[Any]) -> Floats:
    array = np.asarray(counts, dtype=np.float64)
    total = float(array.sum())
    if array.ndim != 1 or total <= 0:
        raise ValueError("counts must be one non-empty row with a positive total")
    return np.asarray(array / total, dtype=np.float64)


def psi(ref_counts: NDArray[Any], cur_counts: NDArray[Any], eps: float = 1e-4) -> float:
    """Population stability index: `sum((p_cur - p_ref) * ln(p_cur / p_ref))`.

    Proportions below `eps` (empty buckets) are raised to `eps`, without renormalising.
    Symmetric in its arguments; 0 for identical proportions.
    """
    ref, cur = _proportions(ref_counts), _proportions(cur_counts)
    if ref.shape != cur.shape:
        raise ValueError(f"bucket counts differ in length: {ref.size} vs {cur.size}")
    ref, cur = np.maximum(ref, eps), np.maximum(cur, eps)
    return float(np.sum((cur - ref) * np.log(cur / ref)))


def js_distance(ref_counts: NDArray[Any], cur_counts: NDArray[Any]) -> float:
    """Jensen-Shannon distance (base 2, so 0..1) between the bucket proportions."""
    ref, cur = _proportions(ref_counts), _proportions(cur_counts)
    if ref.shape != cur.shape:
        raise ValueError(f"bucket counts differ in length: {ref.size} vs {cur.size}")
    return float(jensenshannon(ref, cur, base=2))


@dataclass(frozen=True)
class FeatureDrift:
    """Every drift statistic of one feature; the ones that do not apply to its kind are None."""

    feature: str
    kind: Kind
    psi: float
    js: float
    missing_reference: float  # share of missing values
    missing_current: float
    buckets: tuple[str, ...]
    reference_counts: tuple[int, ...]
    current_counts: tuple[int, ...]
    ks: float | None = None
    ks_pvalue: float | None = None
    wasserstein: float | None = None
    wasserstein_normalised: float | None = None
    chi2_pvalue: float | None = None

    def score(self, method: str) -> float | None:
        """The statistic a drift gate of `method` compares (None: not applicable)."""
        scores = {
            "psi": self.psi,
            "jensen_shannon": self.js,
            "ks": self.ks,
            "wasserstein": self.wasserstein_normalised,
        }
        return scores[method]

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in self.__dict__.items():
            if isinstance(value, float):
                out[key] = value if math.isfinite(value) else None
            else:
                out[key] = list(value) if isinstance(value, tuple) else value
        return out


def _numeric_stats(reference: pd.Series, current: pd.Series, scale: float) -> dict[str, float]:
    ref, cur = numeric_values(reference), numeric_values(current)
    ref, cur = ref[np.isfinite(ref)], cur[np.isfinite(cur)]
    if ref.size == 0 or cur.size == 0:
        return {}
    ks = ks_2samp(ref, cur)
    distance = float(wasserstein_distance(ref, cur))
    return {
        "ks": float(ks.statistic),
        "ks_pvalue": float(ks.pvalue),
        "wasserstein": distance,
        "wasserstein_normalised": distance / scale,
    }


def _chi2_pvalue(ref_counts: Counts, cur_counts: Counts) -> float:
    table = np.vstack([ref_counts, cur_counts])
    table = table[:, table.sum(axis=0) > 0]
    if table.shape[1] < 2:
        return 1.0
    return float(chi2_contingency(table).pvalue)


def feature_drift(
    reference: pd.Series, current: pd.Series, profile: FeatureProfile
) -> FeatureDrift:
    """Drift of `current` against `reference`; `profile` must be built from `reference`.

    PSI and JS use the profile's buckets (missing values included); numeric features add KS
    and Wasserstein on the finite values, categorical ones the chi-square test p-value.
    """
    ref_counts, cur_counts = profile.reference, profile.counts(current)
    extra: dict[str, Any] = (
        _numeric_stats(reference, current, profile.scale)
        if profile.kind == "numeric"
        else {"chi2_pvalue": _chi2_pvalue(ref_counts, cur_counts)}
    )
    return replace(binned_drift(profile, cur_counts), **extra)


def binned_drift(profile: FeatureProfile, current_counts: NDArray[Any]) -> FeatureDrift:
    """Drift from bucket counts alone (`profile.counts` of current data, added up chunk by
    chunk): PSI and JS as `feature_drift` computes them; the statistics that need the raw
    values (KS, Wasserstein, chi-square) are left None."""
    ref_counts = profile.reference
    cur_counts = np.asarray(current_counts, dtype=np.int64)
    return FeatureDrift(
        feature=profile.name,
        kind=profile.kind,
        psi=psi(ref_counts, cur_counts),
        js=js_distance(ref_counts, cur_counts),
        missing_reference=float(ref_counts[-1] / ref_counts.sum()),
        missing_current=float(cur_counts[-1] / cur_counts.sum()),
        buckets=tuple(profile.labels()),
        reference_counts=profile.reference_counts,
        current_counts=tuple(int(c) for c in cur_counts),
    )


STATISTIC = {
    "psi": "population stability index over reference-quantile buckets (missing as a bucket)",
    "ks": "two-sample Kolmogorov-Smirnov statistic (numeric features only)",
    "wasserstein": "Wasserstein distance / reference std (numeric features only)",
    "jensen_shannon": "Jensen-Shannon distance, base 2, over the buckets",
}


def _problem(reference: pd.DataFrame, current: pd.DataFrame, features: list[str]) -> str:
    for frame, which in ((reference, "reference"), (current, "current")):
        absent = [f for f in features if f not in frame.columns]
        if absent:
            return f"drift feature(s) {', '.join(absent)} not in the {which} data"
        if len(frame) == 0:
            return f"the {which} data has no rows"
    return "" if features else "the reference and current data share no columns"


def drift_gate(reference: pd.DataFrame, current: pd.DataFrame, gate: DriftGate) -> GateResult:
    """Largest per-feature drift score (by `gate.method`) against `gate.max`.

    Features are `gate.features`, else every column the two frames share (drop the label
    first). Categorical features have no KS or Wasserstein score: they are listed as unscored.
    """
    with stopwatch() as elapsed:
        result = _drift_gate(reference, current, gate)
    return result.timed(elapsed[0])


def _drift_gate(reference: pd.DataFrame, current: pd.DataFrame, gate: DriftGate) -> GateResult:
    features = gate.features or [str(c) for c in reference.columns if c in current.columns]
    name = f"max {gate.method} over {len(features)} features"
    problem = _problem(reference, current, features)
    if problem:
        return GateResult(Gate.DRIFT, name, False, None, gate.max, "<=", error=problem)
    profile = Profile.from_frame(reference, features)
    drifts = [feature_drift(reference[f], current[f], profile.features[f]) for f in features]
    return drift_verdict(drifts, gate, {"reference": len(reference), "current": len(current)})


def drift_verdict(
    drifts: list[FeatureDrift], gate: DriftGate, rows: dict[str, int], family: str = "drift"
) -> GateResult:
    """The gate result of per-feature drifts: the largest score by `gate.method` against
    `gate.max`, the top features named. Shared by the offline gate and `shipyard monitor`."""
    features = [d.feature for d in drifts]
    name = f"max {gate.method} over {len(features)} features"
    scored = sorted(
        ((s, d) for d in drifts if (s := d.score(gate.method)) is not None),
        key=lambda pair: -pair[0],
    )
    unscored = [d.feature for d in drifts if d.score(gate.method) is None]
    if not scored:
        error = f"{gate.method} scores numeric features only; none of {', '.join(features)} is"
        return GateResult(family, name, False, None, gate.max, "<=", error=error)
    over = [(s, d) for s, d in scored if not compare(s, "<=", gate.max)]
    top = (over or scored)[:TOP]
    measured = scored[0][0]
    listed = ", ".join(f"{d.feature} {fmt(s)}" for s, d in top)
    note = f"drifting: {listed}" if over else f"largest: {listed}"
    if unscored:
        note += f"; not scored by {gate.method}: {', '.join(unscored)}"
    evidence = {
        "method": gate.method,
        "statistic": STATISTIC[gate.method],
        "threshold": gate.max,
        "rows": rows,
        "features": [{**d.to_json(), "score": s} for s, d in scored]
        + [{**d.to_json(), "score": None} for d in drifts if d.feature in unscored],
        "top": [{"feature": d.feature, "score": s} for s, d in top],
        "unscored": unscored,
    }
    passed = compare(measured, "<=", gate.max)
    return GateResult(family, name, passed, measured, gate.max, "<=", evidence, note=note)
