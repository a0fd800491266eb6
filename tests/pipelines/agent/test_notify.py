"""Notifications: the Slack-compatible payloads on literal details, and `Notifier.send` against a
real HTTP server on 127.0.0.1 that records what it is sent and answers as each test scripts."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from pipelines.agent.notify import URL_ENV, Event, Notifier, message, where
from pipelines.core.errors import UsageError

SECRET_PATH = "/services/T0001/B0002/s3cr3tT0ken"
ROLLBACK = {
    "spec": "credit-risk",
    "env": "production",
    "model": "models:/credit-risk/5",
    "reason": "canary error rate 3.1% above 1%",
    "restored": "models:/credit-risk/4",
}


def section(*fields: str) -> dict[str, Any]:
    return {"type": "section", "fields": [{"type": "mrkdwn", "text": text} for text in fields]}


def header(text: str) -> dict[str, Any]:
    return {"type": "header", "text": {"type": "plain_text", "text": text}}


# --- message: pure, on literals ---------------------------------------------------------------


def test_a_rollback_names_what_was_rolled_back_why_and_what_runs_now() -> None:
    assert message(Event.ROLLBACK, ROLLBACK) == {
        "text": "credit-risk in production: rolled back models:/credit-risk/5, restored "
        "models:/credit-risk/4 (canary error rate 3.1% above 1%)",
        "blocks": [
            header("Shipyard: Rolled back: credit-risk (production)"),
            section(
                "*Spec*\ncredit-risk",
                "*Environment*\nproduction",
                "*Rolled back*\nmodels:/credit-risk/5",
                "*Restored*\nmodels:/credit-risk/4",
                "*Reason*\ncanary error rate 3.1% above 1%",
            ),
        ],
    }


def test_a_breach_lists_what_breached_and_the_action_taken() -> None:
    details = {
        "spec": "credit-risk",
        "env": "production",
        "breached": ["drift: income PSI 0.31 > 0.2", "slo: p95 82 ms > 50 ms"],
        "action": "rolled back to models:/credit-risk/4",
    }
    breached = "drift: income PSI 0.31 &gt; 0.2, slo: p95 82 ms &gt; 50 ms"  # mrkdwn-escaped
    assert message(Event.BREACH, details) == {
        "text": f"credit-risk in production: monitor breach: {breached}; rolled back to "
        "models:/credit-risk/4",
        "blocks": [
            header("Shipyard: Monitor breach: credit-risk (production)"),
            section(
                "*Spec*\ncredit-risk",
                "*Environment*\nproduction",
                f"*Breached*\n{breached}",
                "*Action taken*\nrolled back to models:/credit-risk/4",
            ),
        ],
    }


def test_an_approval_request_names_who_must_approve_and_extra_details_follow() -> None:
    details = {
        "spec": "credit-risk",
        "env": "production",
        "model": "models:/credit-risk/6",
        "approvers": ("@risk-ml", "@compliance"),
        "commit": "2d11f5c",
    }
    assert message(Event.APPROVAL_NEEDED, details) == {
        "text": "credit-risk in production: approval needed for models:/credit-risk/6 from "
        "@risk-ml, @compliance",
        "blocks": [
            header("Shipyard: Approval needed: credit-risk (production)"),
            section(
                "*Spec*\ncredit-risk",
                "*Environment*\nproduction",
                "*Model*\nmodels:/credit-risk/6",
                "*Who must approve*\n@risk-ml, @compliance",
                "*commit*\n2d11f5c",
            ),
        ],
    }


def test_slack_control_characters_are_escaped() -> None:
    details = {**ROLLBACK, "reason": "p95 <50 ms & errors >1% <!channel>"}
    payload = message(Event.ROLLBACK, details)
    escaped = "p95 &lt;50 ms &amp; errors &gt;1% &lt;!channel&gt;"
    assert payload["text"].endswith(f"({escaped})")
    assert payload["blocks"][1]["fields"][4]["text"] == f"*Reason*\n{escaped}"


def test_more_than_ten_details_take_more_than_one_section() -> None:
    extras = {f"extra{n}": n for n in range(8)}
    blocks = message(Event.ROLLBACK, {**ROLLBACK, **extras})["blocks"]
    assert [len(block.get("fields", [])) for block in blocks] == [0, 10, 3]
    assert blocks[2]["fields"][-1]["text"] == "*extra7*\n7"


def test_a_missing_or_empty_detail_is_left_out_rather_than_failing_the_notification() -> None:
    details = {"spec": "credit-risk", "env": "production", "breached": "drift", "action": ""}
    assert message(Event.BREACH, details) == {
        "text": "credit-risk in production: monitor breach: drift",
        "blocks": [
            header("Shipyard: Monitor breach: credit-risk (production)"),
            section("*Spec*\ncredit-risk", "*Environment*\nproduction", "*Breached*\ndrift"),
        ],
    }
    rollback = message(Event.ROLLBACK, {**ROLLBACK, "restored": None, "model": "  "})
    assert (
        rollback["text"]
        == "credit-risk in production: rolled back (canary error rate 3.1% above 1%)"
    )
    assert message(Event.APPROVAL_NEEDED, {}) == {
        "text": "approval needed",
        "blocks": [header("Shipyard: Approval needed")],
    }


# --- Notifier: against a real server ---------------------------------------------------------


@dataclass
class Webhook:
    """A webhook on 127.0.0.1: answers `script` in turn (then 200), records each request."""

    url: str
    script: list[int] = field(default_factory=list)
    delay: float = 0.0
    requests: list[dict[str, Any]] = field(default_factory=list)


@pytest.fixture
def webhook() -> Iterator[Webhook]:
    hook = Webhook("")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            hook.requests.append(
                {"path": self.path, "type": self.headers["Content-Type"], "body": json.loads(body)}
            )
            time.sleep(hook.delay)
            status = hook.script.pop(0) if hook.script else 200
            answer = b"ok" if status == 200 else b"invalid_payload" if status == 400 else b"oops"
            self.send_response(status)
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    hook.url = f"http://127.0.0.1:{server.server_address[1]}{SECRET_PATH}"
    try:
        yield hook
    finally:
        server.shutdown()
        server.server_close()


def notifier(url: str, timeout: float = 5.0) -> Notifier:
    return Notifier(url, timeout=timeout, backoff=0.01)


def assert_no_secret(text: str) -> None:
    assert "s3cr3tT0ken" not in text
    assert "/services/" not in text


def test_a_notification_is_posted_as_json_to_the_webhook(webhook: Webhook) -> None:
    assert notifier(webhook.url).send(Event.ROLLBACK, ROLLBACK) is None
    assert webhook.requests == [
        {
            "path": SECRET_PATH,
            "type": "application/json; charset=utf-8",
            "body": message(Event.ROLLBACK, ROLLBACK),
        }
    ]


@pytest.mark.parametrize("status", [500, 503, 429])
def test_a_server_error_or_rate_limit_is_retried_once(webhook: Webhook, status: int) -> None:
    webhook.script = [status]
    assert notifier(webhook.url).send(Event.ROLLBACK, ROLLBACK) is None
    assert len(webhook.requests) == 2
    assert webhook.requests[0] == webhook.requests[1]


def test_a_webhook_that_keeps_failing_gives_a_problem_not_an_exception(webhook: Webhook) -> None:
    webhook.script = [500, 500, 500]
    problem = notifier(webhook.url).send(Event.ROLLBACK, ROLLBACK)
    host = "http://127.0.0.1"
    assert problem == f"rollback notification to {host} failed: HTTP 500: oops"
    assert len(webhook.requests) == 2
    assert_no_secret(problem)


def test_a_rejected_payload_is_not_retried(webhook: Webhook) -> None:
    webhook.script = [400]
    problem = notifier(webhook.url).send(Event.BREACH, {**ROLLBACK, "breached": [], "action": "x"})
    assert problem == "breach notification to http://127.0.0.1 failed: HTTP 400: invalid_payload"
    assert len(webhook.requests) == 1


def test_a_slow_webhook_times_out_into_a_problem(webhook: Webhook) -> None:
    webhook.delay = 1.0
    problem = notifier(webhook.url, timeout=0.2).send(Event.ROLLBACK, ROLLBACK)
    assert problem is not None
    assert problem.startswith("rollback notification to http://127.0.0.1 failed: ")
    assert "timed out" in problem
    assert len(webhook.requests) == 2
    assert_no_secret(problem)


def test_no_server_listening_gives_a_problem_after_a_retry(webhook: Webhook) -> None:
    closed = Notifier(f"http://127.0.0.1:9{SECRET_PATH}", backoff=0.01)
    problem = closed.send(Event.ROLLBACK, ROLLBACK)
    assert problem is not None
    assert problem.startswith("rollback notification to http://127.0.0.1 failed: ")
    assert "refused" in problem.lower()
    assert_no_secret(problem)


def test_the_url_comes_from_the_environment_and_its_path_is_never_shown(webhook: Webhook) -> None:
    configured = Notifier.from_environ({URL_ENV: webhook.url})
    assert configured.enabled
    assert repr(configured) == "Notifier(http://127.0.0.1)"
    assert_no_secret(repr(configured))
    assert where("https://hooks.slack.com/services/T/B/x?token=y") == "https://hooks.slack.com"


@pytest.mark.parametrize("environ", [{}, {URL_ENV: ""}])
def test_without_a_url_nothing_is_sent(webhook: Webhook, environ: dict[str, str]) -> None:
    disabled = Notifier.from_environ(environ)
    assert not disabled.enabled
    assert repr(disabled) == "Notifier(disabled)"
    assert disabled.send(Event.ROLLBACK, ROLLBACK) is None
    assert webhook.requests == []


def test_a_url_that_is_not_http_is_refused_without_showing_it() -> None:
    with pytest.raises(UsageError, match=f"^{URL_ENV} is not an http\\(s\\) URL$") as caught:
        Notifier.from_environ({URL_ENV: "hooks.slack.com/services/T/B/s3cr3tT0ken"})
    assert_no_secret(str(caught.value) + caught.value.hint)
