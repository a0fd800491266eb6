"""Readers of the outside systems the gates judge: the MLflow registry, DVC-versioned data sets,
and Great Expectations suites."""
