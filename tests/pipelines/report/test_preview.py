"""How a plan shows an environment's preview: the engine's, or each rollout step of a mock
preview, labelled as such."""

from __future__ import annotations

from pipelines.report.preview import counts, preview_markdown, preview_text
from stacks.target import PreviewSummary, RolloutStepPreview

NOTE = "no cluster credentials (no kubeconfig): previewed with Pulumi mocks"
MOCKED = PreviewSummary(
    {"create": 2, "same": 6},
    ["+ Deployment ns/app-canary (image r/app:b, replicas 2)", "+ Ingress ns/app-canary"],
    [
        RolloutStepPreview(
            "deploy canary app:b",
            {"create": 2, "same": 6},
            ["+ Deployment ns/app-canary (image r/app:b, replicas 2)", "+ Ingress ns/app-canary"],
        ),
        RolloutStepPreview(
            "canary at 10%", {"update": 1, "same": 7}, ["~ Ingress ns/app-canary: weight 0% → 10%"]
        ),
    ],
    NOTE,
)


def test_counts_put_the_unchanged_last() -> None:
    assert counts({"same": 6, "update": 1, "create": 2}) == "2 to create, 1 to update, 6 unchanged"
    assert counts({}) == "no changes"


def test_a_mock_preview_in_markdown_is_labelled_and_shows_every_step() -> None:
    lines = preview_markdown(MOCKED)
    assert lines[0] == f"- preview: ⚠️ {NOTE}"
    text = "\n".join(lines)
    assert "| deploy canary app:b | 2 to create, 6 unchanged |" in text
    assert "| canary at 10% | 1 to update, 7 unchanged |" in text
    assert (
        "Step 2, canary at 10%:\n\n```diff\n~ Ingress ns/app-canary: weight 0% → 10%\n```" in text
    )


def test_a_mock_preview_in_text_is_labelled_and_shows_every_step() -> None:
    assert preview_text(MOCKED) == [
        f"preview: {NOTE}",
        "step 1: deploy canary app:b: 2 to create, 6 unchanged",
        "  + Deployment ns/app-canary (image r/app:b, replicas 2)",
        "  + Ingress ns/app-canary",
        "step 2: canary at 10%: 1 to update, 7 unchanged",
        "  ~ Ingress ns/app-canary: weight 0% → 10%",
    ]


def test_an_engine_preview_and_a_failure_render_as_before() -> None:
    engine = PreviewSummary({"create": 1}, ["+  shipyard:BentoServer bento-stable create"])
    assert preview_markdown(engine) == [
        "- `pulumi preview`: 1 to create",
        "",
        "```diff",
        "+  shipyard:BentoServer bento-stable create",
        "```",
    ]
    assert preview_text(engine) == ["preview: 1 to create"]
    assert preview_markdown("no preview: no Pulumi CLI") == ["- preview: no preview: no Pulumi CLI"]
