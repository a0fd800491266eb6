"""`shipyard agent`: a pull-based GitOps controller (see docs/agent.md)."""
