"""The gates: pure judgments of data, model metrics, champion/challenger, fairness, drift and
serving figures, each a `GateResult`."""
