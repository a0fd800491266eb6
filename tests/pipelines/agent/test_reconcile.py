"""`assess` on literals: nothing to heal when all is as recorded, under a rollout in flight,
or where nothing was released; then each drift with the heal it gets, in order."""

from __future__ import annotations

from pipelines.agent.reconcile import Heal, Observed, assess

BENTO = "credit_risk:abc"
HEALTHY = Observed({"stable": BENTO}, {"stable": 100}, stable_ready=True, endpoint_ready=True)


def heals(expected: str | None, observed: Observed) -> list[Heal]:
    return [f.heal for f in assess(expected, observed)]


def test_nothing_to_heal() -> None:
    assert assess(BENTO, HEALTHY) == []
    assert assess(None, Observed()) == []  # never released, nothing runs
    in_flight = Observed({"stable": BENTO, "canary": "new"}, {"stable": 50, "canary": 50})
    assert assess(BENTO, Observed(**{**in_flight.__dict__, "in_flight": True})) == []


def test_a_stopped_stable_server_is_restarted() -> None:
    down = Observed({"stable": BENTO}, {"stable": 100}, stable_ready=False)
    findings = assess(BENTO, down)
    assert [f.heal for f in findings] == [Heal.RESTART]
    assert findings[0].why == f"the stable server ({BENTO}) does not answer"


def test_weights_edited_by_hand_are_set_back() -> None:
    edited = Observed({"stable": BENTO}, {"stable": 50}, stable_ready=True, endpoint_ready=True)
    findings = assess(BENTO, edited)
    assert [(f.heal, f.why) for f in findings] == [
        (Heal.WEIGHTS, "traffic is stable 50%, not stable 100%")
    ]


def test_a_route_that_no_longer_answers_is_rewritten() -> None:
    unrouted = Observed({"stable": BENTO}, {"stable": 100}, stable_ready=True)
    assert heals(BENTO, unrouted) == [Heal.ROUTE]


def test_a_canary_nobody_drives_is_taken_out() -> None:
    stray = Observed(
        {"stable": BENTO, "canary": "credit_risk:new"},
        {"stable": 90, "canary": 10},
        stable_ready=True,
        endpoint_ready=True,
    )
    findings = assess(BENTO, stray)
    assert [f.heal for f in findings] == [Heal.STRAY_CANARY]
    assert findings[0].why == "a canary (credit_risk:new) runs with no rollout"


def test_another_release_in_the_stable_slot_is_replaced_by_the_recorded_one() -> None:
    swapped = Observed({"stable": "credit_risk:hand"}, {"stable": 100}, True, True)
    findings = assess(BENTO, swapped)
    assert [(f.heal, f.why) for f in findings] == [
        (Heal.REDEPLOY, f"the stable slot runs credit_risk:hand, not {BENTO}")
    ]
    gone = assess(BENTO, Observed())
    assert [(f.heal, f.why) for f in gone] == [
        (Heal.REDEPLOY, f"the stable slot is gone, not {BENTO}"),
        (Heal.WEIGHTS, "traffic is unrouted, not stable 100%"),
    ]


def test_several_drifts_at_once_are_healed_in_order() -> None:
    many = Observed({"stable": BENTO}, {"stable": 70}, stable_ready=False)
    assert heals(BENTO, many) == [Heal.RESTART, Heal.WEIGHTS]
