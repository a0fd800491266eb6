"""The spec and the gates that decide whether a model may go further.

`validators` is a leaf package: it never imports `pipelines` or `stacks`.
"""
