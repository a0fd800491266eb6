"""Small project folders written from literals: `specs/` holding the given spec texts, no
`.shipyard/` yet (nothing initialised, no model registered)."""

from __future__ import annotations

from pathlib import Path

from pipelines.core.workspace import Workspace

LOCAL_SPEC = """\
apiVersion: shipyard/v1
kind: ModelDeployment
metadata: {name: NAME, owners: ["@ml"]}
model: {uri: "models:/NAME/1"}
environments:
  - {name: staging, target: local}
  - {name: production, target: local}
"""
BAD_SPEC = """\
apiVersion: shipyard/v1
kind: ModelDeployment
metadata: {name: Bad_Name, owners: ["@ml"]}
model: {uri: "models:/m/1"}
environments:
  - {name: staging, target: local, replcas: 2}
"""
BAD_NAME = (
    'metadata.name: string "Bad_Name" is not a DNS label: lowercase letters, digits and '
    "'-', starting and ending with a letter or digit, at most 63 characters (e.g. credit-risk)"
)
BAD_FIELD = "environments[0].replcas: unknown field `replcas`"


def local_spec(name: str) -> str:
    """A valid spec of `name` with a staging and a production environment on `local`."""
    return LOCAL_SPEC.replace("NAME", name)


def project(root: Path, specs: dict[str, str]) -> Workspace:
    """`root/specs/<file>` for each file name and text (`specs/` even when there is none); the
    workspace at `root`."""
    (root / "specs").mkdir(parents=True, exist_ok=True)
    for file, text in specs.items():
        path = root / "specs" / file
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return Workspace.at(root)
