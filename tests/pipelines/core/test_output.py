"""`Say`, how the engine talks to the person running it: any callable taking one line."""

from __future__ import annotations

import typing
from collections.abc import Callable

from pipelines.core.output import Say


def test_say_is_a_callable_of_one_line_returning_nothing() -> None:
    assert typing.get_origin(Say) is typing.get_origin(Callable[[str], None])
    assert typing.get_args(Say) == ([str], None)


def test_a_list_collects_what_a_stage_says() -> None:
    said: list[str] = []
    say: Say = said.append
    for line in ("build:  credit_risk:abc", "deploy: stable"):
        say(line)
    assert said == ["build:  credit_risk:abc", "deploy: stable"]
