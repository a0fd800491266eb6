"""Pulumi dynamic providers for the local target (check/diff/create/read/update/delete)."""
