"""The ModelDeployment spec: JSON Schema, loader and typed objects."""
