"""The Pulumi glue: the Automation API with project-local defaults, finding the pinned CLI, and
offline previews under Pulumi mocks."""
