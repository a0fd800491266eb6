"""`Say`, how the engine talks to the person running it: any callable taking one line; a verb
asked for a document says its progress on stderr, and nothing else reaches stdout meanwhile."""

from __future__ import annotations

import json
import typing
from collections.abc import Callable

import pytest

from pipelines.core.output import FORMATS, Say, document, progress


def test_say_is_a_callable_of_one_line_returning_nothing() -> None:
    assert typing.get_origin(Say) is typing.get_origin(Callable[[str], None])
    assert typing.get_args(Say) == ([str], None)


def test_a_list_collects_what_a_stage_says() -> None:
    said: list[str] = []
    say: Say = said.append
    for line in ("build:  credit_risk:abc", "deploy: stable"):
        say(line)
    assert said == ["build:  credit_risk:abc", "deploy: stable"]


def test_text_progress_is_printed_on_stdout(capsys: pytest.CaptureFixture[str]) -> None:
    with progress("text") as say:
        say("deploy: stable")
    assert capsys.readouterr() == ("deploy: stable\n", "")


def test_for_a_document_progress_and_stray_prints_go_to_stderr(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with progress("json") as say:
        say("deploy: stable")
        print("a library talking")  # as a third-party library might
    print(document({"ok": True}))
    out, err = capsys.readouterr()
    assert json.loads(out) == {"ok": True}
    assert err == "deploy: stable\na library talking\n"


def test_a_document_is_indented_json_in_the_order_built() -> None:
    assert (
        document({"b": 1, "a": [1.5, None]}) == '{\n  "b": 1,\n  "a": [\n    1.5,\n    null\n  ]\n}'
    )
    assert FORMATS == ("text", "json")
