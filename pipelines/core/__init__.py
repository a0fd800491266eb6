"""The leaf every stage builds on: errors, the workspace, locks, spec loading, git revisions,
outcomes, and how a spec environment reaches its target."""
