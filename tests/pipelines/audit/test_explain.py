"""Release stories from literal ledger entries."""

from __future__ import annotations

from typing import Any

from pipelines.audit.explain import explain_json, releases, render, running
from pipelines.audit.ledger import LedgerEntry

LABELS = {"git-sha": "abc123", "shipyard.spec-digest": "d1", "shipyard.data-rev": "md5:9"}


def entry(seq: int, kind: str, env: str | None, **details: Any) -> LedgerEntry:
    return LedgerEntry(seq, 1_700_000_000.0 + seq, kind, "credit", env, details)


ENTRIES = [
    entry(1, "gates", None, model="models:/m/1", passed=True, cached=False),
    entry(2, "build", None, bento="credit:aaa", labels=LABELS),
    entry(3, "promoted", "staging", model="models:/m/1", bento="credit:aaa", strategy="direct"),
    entry(4, "approval", "production", model="models:/m/1", approved_by=["@risk"], digest="f0"),
    entry(5, "promoted", "production", model="models:/m/1", bento="credit:aaa", strategy="direct"),
    entry(6, "gates", None, model="models:/m/2", passed=True, cached=True),
    entry(7, "build", None, bento="credit:bbb", labels={**LABELS, "git-sha": "def456"}),
    entry(8, "promoted", "production", model="models:/m/2", bento="credit:bbb", strategy="canary"),
    entry(9, "rollback", "production", requested=True, model="models:/m/1"),
    entry(10, "promoted", "production", model="models:/m/1", bento="credit:aaa", strategy="direct"),
]


def test_each_promotion_is_a_release_with_what_led_to_it() -> None:
    stories = releases(ENTRIES, "credit", "production")

    assert [(s.model, s.seq) for s in stories] == [
        ("models:/m/1", 5),
        ("models:/m/2", 8),
        ("models:/m/1", 10),
    ]
    first, second, now = stories
    assert first.build["git-sha"] == "abc123"
    assert first.approval["approved_by"] == ["@risk"]
    assert first.ended.startswith("replaced by models:/m/2")
    assert second.build["git-sha"] == "def456"
    assert second.gates["cached"] is True
    assert second.approval == {}  # approvals are per model: none was given for m/2
    assert second.ended.startswith("rolled back by request")
    assert now.ended == ""


def test_the_text_leads_with_what_runs_now() -> None:
    text = render("credit", "production", releases(ENTRIES, "credit", "production"), {})
    assert text.splitlines()[0] == "credit/production: models:/m/1 — RUNNING NOW"
    assert "commit     abc123" in text
    assert "approved   by @risk" in text
    assert (
        render("credit", "staging", [], {}) == "credit/staging: no release recorded in the ledger"
    )


def test_waivers_and_the_verified_signature_are_part_of_the_story() -> None:
    signature = {"signature": "5" * 64, "key": "k" * 16, "models": {}}
    entries = [
        entry(1, "gates", None, model="models:/m/3", passed=False, cached=False),
        entry(2, "build", None, bento="credit:ccc", labels=LABELS, signature=signature),
        entry(
            3,
            "waiver",
            "production",
            model="models:/m/3",
            gate="fairness",
            reasons=["@compliance: holdout gap"],
            failed=["fairness: sex: dpd 0.21 > 0.1"],
            digest="d" * 40,
        ),
        entry(4, "verified", "production", bento="credit:ccc", **signature),
        entry(5, "promoted", "production", model="models:/m/3", bento="credit:ccc"),
    ]
    (story,) = releases(entries, "credit", "production")
    assert [w["gate"] for w in story.waivers] == ["fairness"]
    assert story.signature["verified"] is True

    text = render("credit", "production", [story], {})
    assert "  gates      FAILED at" in text
    assert (
        "  waived     fairness gate by @compliance: holdout gap (failed: fairness: sex: dpd "
        "0.21 > 0.1) of spec dddddddddddd"
    ) in text
    assert f"  signed     signature sha256 {'5' * 16} (key {'k' * 16}), verified before deploy" in (
        text
    )
    # a release recorded before signing existed
    assert "signed     not recorded" in render(
        "credit", "production", releases(ENTRIES, "credit", "production"), {}
    )


def test_the_json_object_tells_the_same_stories_newest_first() -> None:
    stories = releases(ENTRIES, "credit", "production")
    found = explain_json("credit", "production", stories, {"models:/m/1": "data/train.csv"})
    assert (found["spec"], found["env"], found["running"]) == (
        "credit",
        "production",
        "models:/m/1",
    )
    assert [(r["model"], r["ledger_seq"], r["running"]) for r in found["releases"]] == [
        ("models:/m/1", 10, True),
        ("models:/m/2", 8, False),
        ("models:/m/1", 5, False),
    ]
    now, rolled_back, first = found["releases"]
    assert now["ended"] is None
    assert rolled_back["ended"].startswith("rolled back by request")
    assert (rolled_back["commit"], rolled_back["strategy"], rolled_back["trained_on"]) == (
        "def456",
        "canary",
        None,
    )
    assert rolled_back["gates"]["cached"] is True
    assert (first["commit"], first["data_rev"], first["spec_digest"]) == ("abc123", "md5:9", "d1")
    assert (first["strategy"], first["trained_on"]) == ("direct", "data/train.csv")
    assert first["approval"]["approved_by"] == ["@risk"]
    assert explain_json("credit", "staging", [], {}) == {
        "spec": "credit",
        "env": "staging",
        "running": None,
        "releases": [],
    }


def test_after_a_rollback_by_request_nothing_listed_runs_now() -> None:
    stories = releases(ENTRIES[:9], "credit", "production")  # m/2 rolled back, m/1 not again
    assert running(stories) is None
    assert explain_json("credit", "production", stories, {})["running"] is None
    assert "RUNNING NOW" not in render("credit", "production", stories, {})
