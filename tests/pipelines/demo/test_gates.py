"""The demo's one line per gated model: PASS with the count of checks, or FAIL with each
failed check's measurement against its limit (or its error); and what each variant must fail."""

from __future__ import annotations

from pipelines.demo.gates import EXPECTED_FAILURE, _verdict
from pipelines.demo.train import VARIANTS
from pipelines.gates.run import GateRun
from tests.fakes.reports import load_run
from validators.gates.result import GateResult


def test_a_passing_model_shows_how_many_checks_passed() -> None:
    assert _verdict(load_run("credit-risk-v1")) == "PASS  all 8 checks"


def test_a_failing_model_shows_each_failed_measurement_and_limit() -> None:
    assert _verdict(load_run("credit-risk-v2")) == (
        "FAIL  model roc_auc 0.5026 (limit >= 0.8); model accuracy 0.6845 (limit >= 0.75)"
    )
    assert _verdict(load_run("credit-risk-v3")) == (
        "FAIL  fairness sex: demographic_parity_difference 0.1838 (limit <= 0.1)"
    )


def test_an_error_is_shown_as_its_message() -> None:
    results = [
        GateResult("drift", "drift", False, None, None, error="data.reference: not set"),
        GateResult("model", "roc_auc", True, 0.9, 0.8, ">="),
    ]
    assert _verdict(GateRun("s", "models:/s/1", {}, results)) == (
        "FAIL  drift: data.reference: not set"
    )


def test_each_trained_variant_has_the_failure_the_story_expects() -> None:
    assert {
        "good": set(),
        "regressed": {"model"},
        "biased": {"fairness"},
        "drifted": {"drift"},
    } == EXPECTED_FAILURE
    assert set(EXPECTED_FAILURE) <= {v.name for v in VARIANTS}
