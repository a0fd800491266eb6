"""Shipyard's engine: spec loading, plan, apply, stages, state, audit, reports and the CLI.

`pipelines` uses `stacks` and `validators`; they never import it.
"""

__version__ = "0.1.0"
