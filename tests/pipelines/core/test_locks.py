"""The environment lock makes a second apply wait, and gives up with a clear error."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from pipelines.core.locks import LockTimeoutError, environment_lock


def test_second_holder_waits_then_gets_the_lock(tmp_path: Path) -> None:
    said: list[str] = []
    released = threading.Event()

    def hold() -> None:
        with environment_lock(tmp_path, "s", "production", 5, said.append):
            released.wait(5)

    holder = threading.Thread(target=hold)
    holder.start()
    time.sleep(0.2)
    threading.Timer(1.0, released.set).start()
    started = time.monotonic()
    with environment_lock(tmp_path, "s", "production", 10, said.append):
        waited = time.monotonic() - started
    holder.join()
    assert waited >= 0.5
    assert said[0].startswith("waiting: another apply holds s in production (pid ")


def test_lock_timeout_is_a_clear_error(tmp_path: Path) -> None:
    with environment_lock(tmp_path, "s", "staging", 1, print):

        def second() -> None:
            with environment_lock(tmp_path, "s", "staging", 0.5, print):
                pass

        errors: list[BaseException] = []
        thread = threading.Thread(target=lambda: _catch(second, errors))
        thread.start()
        thread.join()
    assert isinstance(errors[0], LockTimeoutError)
    assert str(errors[0]).startswith("another apply holds s in staging (pid ")


def _catch(fn: object, into: list[BaseException]) -> None:
    try:
        fn()  # type: ignore[operator]
    except LockTimeoutError as exc:
        into.append(exc)


def test_lock_error_is_raised_in_the_waiting_thread_only(tmp_path: Path) -> None:
    with environment_lock(tmp_path, "t", "e", 1, print):
        second = environment_lock(tmp_path, "t", "e", 0.2, print)
        with pytest.raises(LockTimeoutError, match=r"gave up after 0\.2s"):
            second.__enter__()
