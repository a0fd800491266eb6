# The two commands a newcomer runs (README): `make demo` and `make test`.
# Both set everything up first (.ci/setup is fast when already done).
.PHONY: setup demo test lint bench clean

setup:
	@.ci/setup

demo: setup
	.venv/bin/shipyard demo

test: setup
	.venv/bin/python -m pytest

lint: setup
	.venv/bin/ruff check . && .venv/bin/ruff format --check . && .venv/bin/mypy && .venv/bin/lint-imports

bench: setup
	.venv/bin/python benchmarks/cli_startup.py

# Removes local state and the venv; the Pulumi build stays cached in ~/.cache/shipyard.
clean:
	rm -rf .venv .tools .shipyard .mypy_cache .pytest_cache .ruff_cache
