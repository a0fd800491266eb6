"""Spec validation reports as terminal text and as JSON, from specs loaded off literals."""

from __future__ import annotations

import json

from pipelines.report.findings import render_json, render_text
from tests.fakes.projects import BAD_FIELD, BAD_NAME, BAD_SPEC, local_spec
from validators.spec.loader import load_text

GOOD = load_text(local_spec("credit"), "specs/credit.yaml")
BAD = load_text(BAD_SPEC, "specs/bad.yaml")


def test_valid_specs_are_listed_with_their_names_and_counted() -> None:
    assert render_text([GOOD]).splitlines() == [
        "ok     specs/credit.yaml (credit)",
        "1 spec(s) checked: 1 valid",
    ]


def test_every_finding_is_shown_and_the_summary_counts_them() -> None:
    text = render_text([GOOD, BAD])
    lines = text.splitlines()
    assert lines[0] == "ok     specs/credit.yaml (credit)"
    assert f"specs/bad.yaml:3:18: {BAD_NAME}" in lines
    assert f"specs/bad.yaml:6:36: {BAD_FIELD}" in lines
    assert "      = hint: did you mean `replicas`?" in lines
    assert lines[-1] == "2 spec(s) checked: 1 valid, 1 invalid with 2 problem(s)"


def test_json_has_each_spec_and_its_located_findings() -> None:
    document = json.loads(render_json([GOOD, BAD]))
    assert document["valid"] is False
    good, bad = document["specs"]
    assert good == {"file": "specs/credit.yaml", "name": "credit", "valid": True, "findings": []}
    assert (bad["file"], bad["name"], bad["valid"]) == ("specs/bad.yaml", None, False)
    assert [(f["line"], f["column"], f["path"]) for f in bad["findings"]] == [
        (3, 18, "metadata.name"),
        (6, 36, "environments[0].replcas"),
    ]
    assert bad["findings"][1]["hint"] == "did you mean `replicas`?"
    assert json.loads(render_json([GOOD]))["valid"] is True
