"""The `aws` target: a SageMaker endpoint whose production variants are the slots."""
