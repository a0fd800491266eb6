"""Container images of the Bentos for the container targets (`kubernetes`, `aws`).

CI (`.github/workflows/deploy.yml`, job `image`) builds the Bento of each changed spec that
has a container environment, `bentoml containerize`s it, pushes it, and hands apply the pushed
references pinned by digest through `$SHIPYARD_IMAGES` (read by pipelines/core/targets.py):

    python -m pipelines.build.images --base REV [--head REV] [--repository ghcr.io/acme/models]

prints one line, `images={"credit-risk": "ghcr.io/acme/models/credit-risk@sha256:..."}`, the
format of a GitHub Actions step output. The image goes to the spec's own `image` repository
when it names one, else to `--repository`/<spec name>; its tag is the Bento's version (the
tag the targets use when no digest is given).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from pipelines.core.errors import ShipyardError
from pipelines.core.workspace import Workspace
from validators.errors import ValidatorError
from validators.spec.model import ModelDeployment

CONTAINER_TARGETS = ("kubernetes", "aws")
Run = Callable[[Sequence[str]], str]  # runs a command, returns its stdout


class ImageError(ShipyardError):
    """Building, pushing or inspecting an image failed."""


def repository_for(spec: ModelDeployment, default: str | None) -> str | None:
    """Where the spec's image goes (without tag or digest); None when no environment of the
    spec runs a container, or none names a repository and there is no default."""
    containers = [env for env in spec.environments if env.target in CONTAINER_TARGETS]
    for env in containers:
        settings = env.kubernetes if env.target == "kubernetes" else env.aws
        if settings is not None and settings.image:
            return strip_reference(settings.image)
    return f"{default.rstrip('/')}/{spec.metadata.name}" if containers and default else None


def strip_reference(image: str) -> str:
    """`registry:5000/a/b:tag` or `a/b@sha256:...` -> the repository `registry:5000/a/b`."""
    image = image.split("@", 1)[0]
    head, slash, last = image.rpartition("/")
    return f"{head}{slash}{last.split(':', 1)[0]}"


def push_image(bento: str, repository: str, run: Run) -> str:
    """Containerize `bento`, push it as `repository:<bento version>`; the pushed reference
    pinned by digest."""
    reference = f"{repository}:{bento.rpartition(':')[2]}"
    run(["bentoml", "containerize", bento, "--image-tag", reference])
    run(["docker", "push", reference])
    digests = json.loads(
        run(["docker", "image", "inspect", "--format", "{{json .RepoDigests}}", reference])
        or "null"
    )
    for digest in digests or []:
        if str(digest).startswith(f"{repository}@sha256:"):
            return str(digest)
    raise ImageError(f"docker reports no digest of {reference} in {repository} after the push")


def build_and_push(
    ws: Workspace, base: str, head: str | None, default: str | None, run: Run
) -> dict[str, str]:
    """Every changed spec with a container environment: its pushed image, by spec name."""
    from pipelines.build.bento import build_bento
    from pipelines.core.git import spec_changes
    from pipelines.core.specs import load_spec

    images: dict[str, str] = {}
    for change in spec_changes(ws.root, base, head):
        if change.after is None:
            continue
        spec = load_spec(ws.root / change.path, ws.root)
        repository = repository_for(spec, default)
        if repository is None:
            continue
        built = build_bento(spec, ws.root / change.path, ws, say=lambda _line: None)
        images[spec.metadata.name] = push_image(built.tag, repository, run)
    return images


def run_command(ws: Workspace) -> Run:
    """Commands run with the project's Bento store; a failure is an ImageError."""
    env = {**os.environ, "BENTOML_HOME": str(ws.bentoml_home), "BENTOML_DO_NOT_TRACK": "true"}

    def run(command: Sequence[str]) -> str:
        try:
            done = subprocess.run(
                list(command), env=env, capture_output=True, text=True, check=False
            )
        except FileNotFoundError:
            raise ImageError(f"{command[0]} is not installed", hint="run where Docker is") from None
        if done.returncode != 0:
            tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["failed"]
            raise ImageError(f"{' '.join(command[:2])} failed: {tail[0]}")
        return done.stdout.strip()

    return run


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--base", required=True, metavar="REV")
    parser.add_argument("--head", metavar="REV")
    parser.add_argument("--repository", help="where images of specs naming none go")
    parser.add_argument("-C", dest="root", type=Path, default=Path("."))
    args = parser.parse_args(argv)
    ws = Workspace.at(args.root)
    try:
        images = build_and_push(ws, args.base, args.head, args.repository, run_command(ws))
    except (ShipyardError, ValidatorError) as exc:  # stdout is the step's output: not there
        hint = getattr(exc, "hint", "")
        print(f"error: {exc}" + (f"\nhint: {hint}" if hint else ""), file=sys.stderr)
        return int(getattr(exc, "exit_code", 1))
    print(f"images={json.dumps(images, sort_keys=True)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
