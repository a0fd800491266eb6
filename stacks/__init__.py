"""Pulumi programs, one per target, and the Automation-API glue that runs them.

`stacks` is a leaf package: it never imports `pipelines` or `validators`. Programs take small
typed inputs of their own (a target config), never the spec.
"""
