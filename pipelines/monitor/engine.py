"""`shipyard monitor`: watch what runs in an environment and act as the spec says.

Per spec with a `monitoring` section and a release running in the environment: stream the
window's prediction logs against the baseline (input drift, output shift, live accuracy when
a feedback file is given), difference `/metrics` snapshots for p95 latency and error rate
(or ask CloudWatch for the window, on aws), then take the configured action on a breach and
record it in the ledger.
"""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

from pipelines.core.errors import UsageError
from pipelines.core.output import Say
from pipelines.core.specs import load_valid
from pipelines.core.targets import environment, target_for
from pipelines.core.workspace import Workspace
from pipelines.monitor import checks
from pipelines.monitor.actions import decide, take
from pipelines.monitor.baseline import Baseline, load_baseline
from pipelines.monitor.feedback import Feedback, load_feedback
from pipelines.monitor.metrics import (
    Snapshot,
    combined,
    load_snapshots,
    save_snapshot,
    window_sample,
)
from pipelines.monitor.run import MonitorResult, MonitorRun, Options
from pipelines.monitor.scan import Scan, drift_results, scan
from pipelines.monitor.stream import OUTPUT, Window
from stacks.reach.errors import ReachError
from stacks.reach.metrics import CounterSource, WindowSource
from stacks.target import Slot, Target, TargetState
from validators.gates.result import Gate, GateResult
from validators.spec import model as m
from validators.spec.durations import parse_duration
from validators.spec.model import ModelDeployment
from validators.spec.resolved import default, with_defaults


def monitor(paths: list[Path], ws: Workspace, options: Options, say: Say) -> MonitorResult:
    from pipelines.audit.checkpoint import sealed

    specs = load_valid(paths, ws.root)
    with sealed(ws, "monitor", say):
        return MonitorResult([monitor_spec(spec, file, ws, options, say) for spec, file in specs])


def window_seconds(spec: ModelDeployment, override: str | None) -> float:
    text = override or (spec.monitoring.window if spec.monitoring else None)
    text = text or str(default(m.Monitoring, "window"))
    try:
        return parse_duration(text)
    except ValueError as exc:
        raise UsageError(f"--window: {exc}") from None


def monitor_spec(
    spec: ModelDeployment, spec_file: Path, ws: Workspace, options: Options, say: Say
) -> MonitorRun:
    started = time.perf_counter()
    name = spec.metadata.name
    run = MonitorRun(name, options.env)
    if spec.monitoring is None or not (spec.monitoring.drift or spec.monitoring.slo):
        return replace(run, skipped="no monitoring section in the spec")
    if options.env not in [e.name for e in spec.environments]:
        return replace(run, skipped=f"no environment {options.env!r}")
    environment(spec, options.env)
    target = target_for(spec, options.env, ws)
    state = target.state()
    if Slot.STABLE not in state.slots:
        return replace(run, skipped=f"nothing runs in {options.env}")
    end = options.now or time.time()
    span = window_seconds(spec, options.window)
    run = replace(run, model=state.slots[Slot.STABLE].release.model, start=end - span, end=end)
    run = _observe(spec, target, state, ws, options, run)
    wanted = decide(run.breached, spec.monitoring)
    if wanted and options.act:
        run = replace(run, actions=take(run, wanted, spec_file, ws, say))
    _remember(ws, run, wanted)
    return replace(run, seconds=time.perf_counter() - started)


def _remember(ws: Workspace, run: MonitorRun, wanted: dict[str, list[str]]) -> None:
    """The window this run judged, kept for the next run and `shipyard state show`."""
    from pipelines.state.store import open_store

    window = {"start": run.start, "end": run.end, "model": run.model, "predictions": run.rows}
    record = {**window, "breaches": [b for reasons in wanted.values() for b in reasons]}
    open_store(ws.state_url).put_value(run.spec, run.env, "last-window", record)


def _observe(
    spec: ModelDeployment,
    target: Target,
    state: TargetState,
    ws: Workspace,
    options: Options,
    run: MonitorRun,
) -> MonitorRun:
    assert spec.monitoring is not None
    results: list[GateResult] = []
    if spec.monitoring.drift or options.feedback:
        run, found = _logs(spec, state, ws, options, run)
        results += found
    if spec.monitoring.slo:
        run, found = _slo(spec, target, state, ws, run)
        results += found
    return replace(run, results=results)


def drift_method(spec: ModelDeployment) -> str:
    monitor = spec.monitoring.drift if spec.monitoring else None
    if monitor and monitor.method:
        return monitor.method
    return spec.gates.drift.method if spec.gates and spec.gates.drift else "psi"


def _logs(
    spec: ModelDeployment, state: TargetState, ws: Workspace, options: Options, run: MonitorRun
) -> tuple[MonitorRun, list[GateResult]]:
    dirs = [Path(s.prediction_log) for s in state.slots.values() if s.prediction_log]
    if not dirs:
        why = "this target exposes no prediction logs to read"
        return run, [GateResult(Gate.DRIFT, "input drift", False, None, None, error=why)]
    baseline = load_baseline(spec, run.model, ws)
    feedback = _feedback(spec, baseline, options.feedback)
    method = drift_method(spec)
    window = Window(run.start, run.end)
    found = scan(dirs, baseline, window, method, feedback)
    results: list[GateResult] = []
    if spec.monitoring and spec.monitoring.drift:
        results += drift_results(found, baseline, method, spec.monitoring.drift.max)
    if feedback is not None:
        labels, outputs = feedback.pairs()
        gates = spec.gates.model if spec.gates and spec.gates.model else []
        results += checks.accuracy_results(labels, outputs, gates, baseline.offline)
    return _with_scan(run, found, baseline, method, window), results


def _with_scan(
    run: MonitorRun, found: Scan, baseline: Baseline, method: str, window: Window
) -> MonitorRun:
    counts = {name: found.acc.counts[name] for name in baseline.profile.features}
    series = checks.drift_series(baseline.profile, counts, method)
    series[OUTPUT] = checks.drift_series(
        type(baseline.profile)({OUTPUT: baseline.output}),
        {OUTPUT: found.acc.counts[OUTPUT]},
        method,
    )[OUTPUT]
    return replace(
        run,
        method=method,
        rows=found.predictions,
        edges=window.edges(),
        rows_series=[int(n) * found.read.every for n in found.acc.rows],
        drift_series=series,
        read=found.read,
    )


def _feedback(spec: ModelDeployment, baseline: Baseline, path: Path | None) -> Feedback | None:
    if path is None:
        return None
    return load_feedback(path, baseline.kinds, spec.data.label if spec.data else None)


def _slo_from_windows(
    slo: m.SloMonitor, sources: list[WindowSource], run: MonitorRun
) -> list[GateResult]:
    """The SLO checks on sources that keep per-period statistics (CloudWatch): the run's
    window asked directly, no snapshots."""
    try:
        sample = combined([source.window(run.start, run.end) for source in sources])
    except ReachError as exc:
        return [GateResult(Gate.SLO, "metrics", False, None, None, error=exc.message)]
    when = time.strftime("%Y-%m-%d %H:%M:%SZ", time.gmtime(run.start))
    return checks.slo_results(sample, slo, when)


def _slo(
    spec: ModelDeployment, target: Target, state: TargetState, ws: Workspace, run: MonitorRun
) -> tuple[MonitorRun, list[GateResult]]:
    assert spec.monitoring is not None
    assert spec.monitoring.slo is not None
    endpoint = f"/{with_defaults(spec).service.api}"
    sources = {slot: target.metrics(slot) for slot in state.slots}
    windows = [s for s in sources.values() if isinstance(s, WindowSource)]
    if windows:
        return run, _slo_from_windows(spec.monitoring.slo, windows, run)
    try:
        now = Snapshot(
            run.end,
            {
                slot.value: source.counters(endpoint)
                for slot, source in sources.items()
                if isinstance(source, CounterSource)
            },
        )
    except ReachError as exc:
        return run, [GateResult(Gate.SLO, "metrics", False, None, None, error=exc.message)]
    from pipelines.state.store import open_store

    store = open_store(ws.state_url)
    snapshots = [s for s in load_snapshots(store, run.spec, run.env) if s.ts < run.end]
    sample, since, series = window_sample(snapshots, now, run.start)
    save_snapshot(store, run.spec, run.env, now)
    when = time.strftime("%Y-%m-%d %H:%M:%SZ", time.gmtime(since)) if since else "server start"
    return replace(run, slo_series=series), checks.slo_results(sample, spec.monitoring.slo, when)
