"""`python -m pipelines` is the `shipyard` command."""

from pipelines.cli import main

raise SystemExit(main())
