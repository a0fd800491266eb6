"""Rules across fields that a schema cannot say. Pure: `exists` is the only window on disk.

Every rule returns all its findings, each at the field path a user would edit.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from validators.spec import messages as msg
from validators.spec import model as m
from validators.spec.durations import parse_duration
from validators.spec.fields import BOUNDED_METRICS, LOWER_IS_BETTER
from validators.spec.findings import Issue, Path_

Exists = Callable[[str], bool]
AWS_MIN_ANALYSIS_S = 300.0


def check_spec(spec: m.ModelDeployment, exists: Exists | None = None) -> list[Issue]:
    """All rule violations of one spec; `exists` (path relative to the repo root) enables
    the file checks."""
    issues = [
        *_environments(spec.environments),
        *_gates(spec),
        *_durations(spec),
    ]
    if exists is not None:
        issues += _files(spec, exists)
    return issues


def _environments(envs: list[m.Environment]) -> Iterator[Issue]:
    first: dict[str, int] = {}
    for i, env in enumerate(envs):
        here: Path_ = ("environments", i)
        if env.name in first:
            text = msg.DUPLICATE_ENVIRONMENT.format(name=env.name, first=first[env.name])
            yield Issue((*here, "name"), text)
        first.setdefault(env.name, i)
        for block in ("local", "kubernetes", "aws"):
            if getattr(env, block) is not None and block != env.target:
                yield Issue(
                    (*here, block),
                    msg.WRONG_SETTINGS_BLOCK.format(block=block, target=env.target),
                    msg.WRONG_SETTINGS_HINT.format(target=env.target),
                    on_key=True,
                )
        for j, approval in enumerate(env.approvals or ()):
            yield from _approval(approval, (*here, "approvals", j))
        if env.rollout is not None:
            yield from _rollout(env.rollout, (*here, "rollout"))
            if env.target == "aws":
                yield from _cloudwatch_rollout(env.rollout, (*here, "rollout"))


def _approval(approval: m.Approval, here: Path_) -> Iterator[Issue]:
    if approval.required > len(approval.from_):
        text = msg.TOO_FEW_APPROVERS.format(required=approval.required, count=len(approval.from_))
        yield Issue((*here, "required"), text, msg.TOO_FEW_APPROVERS_HINT)
    seen: set[str] = set()
    for k, who in enumerate(approval.from_):
        if who.lower() in seen:
            yield Issue((*here, "from", k), msg.DUPLICATE_APPROVER.format(who=who))
        seen.add(who.lower())


def _rollout(rollout: m.Rollout, here: Path_) -> Iterator[Issue]:
    steps = rollout.steps or []
    if rollout.strategy == "direct" and steps:
        yield Issue((*here, "steps"), msg.DIRECT_WITH_STEPS, msg.DIRECT_WITH_STEPS_HINT, True)
    if rollout.strategy == "canary" and not steps:
        yield Issue(here, msg.CANARY_WITHOUT_STEPS)
    previous: int | None = None
    last_weight: tuple[int, int] | None = None
    for k, step in enumerate(steps):
        at: Path_ = (*here, "steps", k)
        chosen = [name for name in ("weight", "pause", "analysis") if getattr(step, name)]
        if len(chosen) != 1:
            found = " and ".join(f"`{c}`" for c in chosen) or "none of them"
            yield Issue(at, msg.STEP_ONE_OF.format(found=found))
        if step.weight is None:
            continue
        if previous is not None and step.weight <= previous:
            text = msg.WEIGHTS_NOT_INCREASING.format(weight=step.weight, previous=previous)
            yield Issue((*at, "weight"), text)
        previous = step.weight
        last_weight = (k, step.weight)
    if last_weight is not None and last_weight[1] != 100:
        k, weight = last_weight
        yield Issue(
            (*here, "steps", k, "weight"),
            msg.WEIGHTS_NOT_ENDING_AT_100.format(weight=weight),
            msg.WEIGHTS_NOT_ENDING_HINT,
        )


def _cloudwatch_rollout(rollout: m.Rollout, here: Path_) -> Iterator[Issue]:
    """A canary on `aws` is judged on CloudWatch, which SageMaker fills once a minute and a
    minute or more late: a shorter analysis never gathers the requests to judge."""
    steps = rollout.steps or []
    if rollout.strategy == "direct" or not steps:
        return
    durations = [s.pause or (s.analysis.duration if s.analysis else None) for s in steps]
    analysed = sum(parse_duration(d) for d in durations if d)
    if analysed < AWS_MIN_ANALYSIS_S:
        text = msg.AWS_CANARY_TOO_SHORT.format(analysed=f"{analysed:g}s")
        yield Issue((*here, "steps"), text, msg.AWS_CANARY_TOO_SHORT_HINT, True)


def _gates(spec: m.ModelDeployment) -> Iterator[Issue]:
    gates = spec.gates
    if gates is None:
        return
    data = spec.data
    for name in ("model", "fairness", "drift"):
        if getattr(gates, name) and data is None:
            yield Issue(("gates", name), msg.GATES_NEED_DATA.format(gate=name), on_key=True)
    for i, gate in enumerate(gates.model or ()):
        yield from _metric_gate(gate, ("gates", "model", i))
    if gates.model and data is not None and data.label is None:
        yield Issue(("data",), msg.MODEL_GATES_NEED_LABEL, on_key=True)
    sensitive = (data.sensitive_features or []) if data else []
    for i, fair in enumerate(gates.fairness or ()):
        yield from _fairness_gate(fair, ("gates", "fairness", i), sensitive, data is not None)


def _metric_gate(gate: m.MetricGate, here: Path_) -> Iterator[Issue]:
    if gate.min is None and gate.max is None and gate.max_regression is None:
        yield Issue(here, msg.NO_THRESHOLD.format(fields="`min`, `max`, `max_regression`"))
    if gate.min is not None and gate.max is not None and gate.min > gate.max:
        yield Issue((*here, "min"), msg.MIN_ABOVE_MAX.format(min=gate.min, max=gate.max))
    if gate.metric in LOWER_IS_BETTER and gate.min is not None:
        text = msg.NOT_WITH_METRIC.format(field="min", metric=gate.metric, instead="max")
        yield Issue((*here, "min"), text, on_key=True)
    low, high = _metric_range(gate.metric)
    for name in ("min", "max"):
        value = getattr(gate, name)
        if value is not None and not low <= value <= high:
            text = msg.OUT_OF_RANGE.format(
                value=f"{value:g}", low=f"{low:g}", high=f"{high:g}", metric=gate.metric
            )
            yield Issue((*here, name), text)


def _metric_range(metric: str) -> tuple[float, float]:
    if metric in BOUNDED_METRICS:
        return 0.0, 1.0
    if metric == "r2":
        return float("-inf"), 1.0
    return 0.0, float("inf")


def _fairness_gate(
    gate: m.FairnessGate, here: Path_, sensitive: list[str], has_data: bool
) -> Iterator[Issue]:
    ratio = gate.metric.endswith("_ratio")
    wanted, unwanted = ("min", "max") if ratio else ("max", "min")
    if getattr(gate, wanted) is None:
        yield Issue(here, msg.NEEDS_FIELD.format(metric=gate.metric, field=wanted))
    if getattr(gate, unwanted) is not None:
        text = msg.NOT_WITH_METRIC.format(field=unwanted, metric=gate.metric, instead=wanted)
        yield Issue((*here, unwanted), text, on_key=True)
    if has_data and gate.feature not in sensitive:
        known = ", ".join(sensitive) or "none listed"
        text = msg.UNKNOWN_SENSITIVE_FEATURE.format(feature=gate.feature, known=known)
        yield Issue((*here, "feature"), text, msg.UNKNOWN_SENSITIVE_FEATURE_HINT)


def _durations(spec: m.ModelDeployment) -> Iterator[Issue]:
    """Durations match the pattern already; here they must also be above zero."""
    found: list[tuple[Path_, str | None]] = []
    if spec.service:
        found.append((("service", "timeout"), spec.service.timeout))
    serving = spec.gates.serving if spec.gates else None
    if serving and serving.load:
        found.append((("gates", "serving", "load", "duration"), serving.load.duration))
    if spec.monitoring:
        found.append((("monitoring", "window"), spec.monitoring.window))
    for i, env in enumerate(spec.environments):
        rollout = env.rollout
        if rollout is None:
            continue
        here: Path_ = ("environments", i, "rollout")
        if rollout.analysis:
            found.append(((*here, "analysis", "interval"), rollout.analysis.interval))
        for k, step in enumerate(rollout.steps or ()):
            found.append(((*here, "steps", k, "pause"), step.pause))
            if step.analysis:
                found.append(((*here, "steps", k, "analysis", "duration"), step.analysis.duration))
    for path, text in found:
        if text is not None and parse_duration(text) <= 0:
            yield Issue(path, msg.ZERO_DURATION)


def _files(spec: m.ModelDeployment, exists: Exists) -> Iterator[Issue]:
    data = spec.data
    if data is None:
        return
    if data.expectations is not None:
        yield from _local_file(("data", "expectations"), data.expectations, exists)
    for name in ("evaluation", "reference"):
        dataset: m.Dataset | None = getattr(data, name)
        if dataset is None:
            continue
        at: Path_ = ("data", name, "path")
        if ".." in dataset.path.split("/"):
            yield Issue(at, msg.PARENT_PATH.format(path=dataset.path))
        elif dataset.rev is None and not (exists(dataset.path) or exists(dataset.path + ".dvc")):
            yield Issue(
                at,
                msg.DATA_NOT_FOUND.format(path=dataset.path),
                msg.DATA_NOT_FOUND_HINT.format(path=dataset.path),
            )


def _local_file(path: Path_, value: str, exists: Exists) -> Iterator[Issue]:
    if ".." in value.split("/"):
        yield Issue(path, msg.PARENT_PATH.format(path=value))
    elif not exists(value):
        yield Issue(
            path,
            msg.FILE_NOT_FOUND.format(path=value, root="the repository root"),
            msg.FILE_NOT_FOUND_HINT,
        )
