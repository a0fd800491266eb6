"""The data gate in a second process, so a spec's gates use two cores.

The data gate (Great Expectations) and the model gates (MLflow, the model) share nothing but
the data frames, and each spends seconds importing its library. A `DataGateWorker` is a forked
child that imports Great Expectations and reads the suite while the parent resolves and loads
the model, then validates the frames the parent sends it. Anything unexpected (no `fork` here,
one core, the parent already runs threads, the child fails or dies) makes `results` return
None, and the caller runs the data gate in its own process as before: the worker can only
change how long a plan takes, never what it says or which error it raises.
`SHIPYARD_GATE_WORKER=0` turns it off (benchmarks/plan.py compares both).
"""

from __future__ import annotations

import os
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from validators.gates.result import GateResult

if TYPE_CHECKING:
    from multiprocessing.connection import Connection
    from multiprocessing.process import BaseProcess

    from validators.sources.datasets import LoadedData

DataSets = list[tuple[str, "LoadedData"]]  # ("evaluation", data), ("reference", data)


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


class DataGateWorker:
    """A forked child running the data gate of one suite (see the module docstring)."""

    def __init__(self, process: BaseProcess, conn: Connection) -> None:
        self._process = process
        self._conn = conn
        self._sent = False
        self._sender: threading.Thread | None = None

    @classmethod
    def start(cls, suite: Path) -> DataGateWorker | None:
        """The worker, already importing Great Expectations; None where it cannot help."""
        import multiprocessing

        if (
            os.environ.get("SHIPYARD_GATE_WORKER") == "0"
            or sys.platform != "linux"
            or _cores() < 2
            or threading.active_count() > 1  # forking a threaded process is unsafe
            or "fork" not in multiprocessing.get_all_start_methods()
        ):
            return None
        context = multiprocessing.get_context("fork")
        parent, child = context.Pipe()
        process = context.Process(target=_serve, args=(child, suite), daemon=True)
        process.start()
        child.close()
        return cls(process, parent)

    def submit(self, datasets: DataSets) -> None:
        """Hand the frames over and return at once: a thread sends them, since a pipe holds
        64 KiB and the child reads only once Great Expectations is imported."""
        self._sender = threading.Thread(target=self._send, args=(datasets,), daemon=True)
        self._sender.start()

    def _send(self, datasets: DataSets) -> None:
        try:
            self._conn.send(datasets)
            self._sent = True
        except Exception:  # the child is gone, or a frame does not pickle: run it here
            self._sent = False

    def results(self) -> list[GateResult] | None:
        """The data gate's results, or None: run it in this process instead."""
        reply: Any = None
        if self._sender is not None:
            self._sender.join()
        if self._sent:
            try:
                reply = self._conn.recv()
            except (EOFError, OSError):
                reply = None
        self.close()
        if isinstance(reply, list) and all(isinstance(r, GateResult) for r in reply):
            return reply
        return None

    def close(self) -> None:
        """Stop the child (it may still be importing) and reap it; safe to call twice."""
        if self._process.is_alive():
            self._process.kill()
        self._process.join()
        if self._sender is not None:  # its send fails now that the child is gone
            self._sender.join()
            self._sender = None
        self._conn.close()
        self._sent = False


def _serve(conn: Connection, suite_path: Path) -> None:
    """The child: get ready, validate what the parent sends, send back the results (or None
    when anything failed: the parent then reproduces the failure with its own error)."""
    reply: list[GateResult] | None = None
    try:
        from validators.gates.data import suite_results
        from validators.sources.expectations import load_suite

        suite = load_suite(suite_path)  # imports Great Expectations: the slow part
        datasets: DataSets = conn.recv()
        reply = suite_results(suite, datasets)
    except BaseException:  # any failure: the parent runs the gate itself
        reply = None
    try:
        conn.send(reply)
    except (OSError, ValueError):
        pass
    finally:
        conn.close()
