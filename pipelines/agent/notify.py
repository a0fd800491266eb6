"""Notifications from the agent to a chat webhook, in Slack-compatible JSON: a rollback, a
monitor breach, an approval that is needed.

`message(event, details)` builds the payload and does no I/O; `Notifier.send` posts it to the
webhook `SHIPYARD_NOTIFY_URL` names, retrying once, and returns a problem instead of raising,
so the agent keeps reconciling when the chat is down. A webhook URL is a secret (its path is
the credential): messages and reprs show only its scheme and host.
"""

from __future__ import annotations

import http.client
import json
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

from pipelines.core.errors import UsageError

URL_ENV = "SHIPYARD_NOTIFY_URL"
TIMEOUT = 5.0  # seconds per attempt
BACKOFF = 1.0  # seconds before the one retry
MAX_FIELD = 1900  # Slack caps a section field at 2,000 characters
MAX_FIELDS = 10  # and a section at 10 fields


class Event(StrEnum):
    """What a notification is about."""

    ROLLBACK = "rollback"
    BREACH = "breach"
    APPROVAL_NEEDED = "approval_needed"


@dataclass(frozen=True)
class _Layout:
    title: str  # the header block
    what: str  # the start of the `text` (the line a phone's notification shows)
    # (key in details, label in the blocks, how the key adds to the `text`), in order
    fields: tuple[tuple[str, str, str], ...]


PLACE = (("spec", "Spec", ""), ("env", "Environment", ""))
LAYOUTS = {
    Event.ROLLBACK: _Layout(
        "Rolled back",
        "rolled back",
        (
            *PLACE,
            ("model", "Rolled back", " {}"),
            ("restored", "Restored", ", restored {}"),
            ("reason", "Reason", " ({})"),
        ),
    ),
    Event.BREACH: _Layout(
        "Monitor breach",
        "monitor breach",
        (*PLACE, ("breached", "Breached", ": {}"), ("action", "Action taken", "; {}")),
    ),
    Event.APPROVAL_NEEDED: _Layout(
        "Approval needed",
        "approval needed",
        (*PLACE, ("model", "Model", " for {}"), ("approvers", "Who must approve", " from {}")),
    ),
}


def message(event: Event, details: Mapping[str, Any]) -> dict[str, Any]:
    """The webhook payload of `event`: `text` (one line) and `blocks` (a header, then the
    details as section fields). The event's own details come first (a list is joined with
    commas), then any other key under its own name; a detail missing, None or empty is left
    out, so a caller short of one still gets its notification out."""
    layout = LAYOUTS[event]
    shown = {key: _plain(value) for key, value in details.items() if _plain(value)}
    labels = {key: label for key, label, _ in layout.fields}
    order = [key for key in labels if key in shown] + [key for key in shown if key not in labels]
    fields = [
        {"type": "mrkdwn", "text": f"*{labels.get(key, key)}*\n{_escape(shown[key])}"[:MAX_FIELD]}
        for key in order
    ]
    place = " in ".join(shown[key] for key in ("spec", "env") if key in shown)
    text = (f"{place}: " if place else "") + layout.what
    text += "".join(
        part.format(shown[key]) for key, _, part in layout.fields if part and key in shown
    )
    subject = shown.get("spec", "") + (f" ({shown['env']})" if "env" in shown else "")
    title = f"Shipyard: {layout.title}" + (f": {subject.strip()}" if subject else "")
    header = {"type": "header", "text": {"type": "plain_text", "text": title[:150]}}
    sections = [
        {"type": "section", "fields": fields[start : start + MAX_FIELDS]}
        for start in range(0, len(fields), MAX_FIELDS)
    ]
    return {"text": _escape(text), "blocks": [header, *sections]}


def _plain(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, set | frozenset):
        value = sorted(value, key=str)
    if isinstance(value, list | tuple):
        return ", ".join(str(item) for item in value)
    return str(value).strip()


def _escape(text: str) -> str:
    """Slack's mrkdwn control characters, as its docs ask them escaped."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def where(url: str) -> str:
    """What of a webhook URL may be shown: its scheme and host (the path is the secret)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname or '?'}"


@dataclass(frozen=True)
class _Failure:
    problem: str
    retry: bool  # worth one more attempt: 5xx, 429, no connection, a timeout


@dataclass(frozen=True)
class Notifier:
    """Posts notifications to one webhook; built with no URL it is disabled and sends nothing."""

    url: str | None = field(default=None, repr=False)
    timeout: float = TIMEOUT
    backoff: float = BACKOFF

    def __post_init__(self) -> None:
        if self.url is not None:
            parts = urlsplit(self.url)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise UsageError(
                    f"{URL_ENV} is not an http(s) URL",
                    hint="set it to the webhook URL your chat gives (https://hooks.slack.com/...)",
                )

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> Notifier:
        """The notifier `SHIPYARD_NOTIFY_URL` names (unset or empty: disabled)."""
        return cls(environ.get(URL_ENV) or None)

    @property
    def enabled(self) -> bool:
        return self.url is not None

    def __repr__(self) -> str:
        return f"Notifier({where(self.url) if self.url else 'disabled'})"

    def send(self, event: Event, details: Mapping[str, Any]) -> str | None:
        """Post `event`; None once the webhook took it (or when disabled), else the problem,
        for the caller to log and record. Never raises on a network failure."""
        if self.url is None:
            return None
        body = json.dumps(message(event, details)).encode()
        failure = self._post(self.url, body)
        if failure is not None and failure.retry:
            time.sleep(self.backoff)
            failure = self._post(self.url, body)
        if failure is None:
            return None
        return f"{event.value} notification to {where(self.url)} failed: {failure.problem}"

    def _post(self, url: str, body: bytes) -> _Failure | None:
        request = urllib.request.Request(
            url,
            data=body,
            method="POST",
            headers={"Content-Type": "application/json; charset=utf-8"},
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                response.read()
            return None
        except urllib.error.HTTPError as exc:
            answer = _scrub(_answer(exc), url)
            problem = f"HTTP {exc.code}" + (f": {answer}" if answer else "")
            return _Failure(problem, exc.code >= 500 or exc.code == 429)
        except urllib.error.URLError as exc:
            return _Failure(_scrub(str(exc.reason), url), True)
        except (OSError, http.client.HTTPException) as exc:  # timeouts, dropped connections
            return _Failure(_scrub(str(exc) or type(exc).__name__, url), True)


def _answer(error: urllib.error.HTTPError) -> str:
    """The start of an error answer's body (Slack says what was wrong: `invalid_payload`)."""
    try:
        return error.read(200).decode(errors="replace").strip()
    except (OSError, http.client.HTTPException):
        return ""


def _scrub(text: str, url: str) -> str:
    """`text` without the URL or its path, should a library have put them in."""
    parts = urlsplit(url)
    for secret in (url, parts.path, parts.query):
        if len(secret) > 1:
            text = text.replace(secret, "…")
    return text
