"""The offline gates of a spec (data, model, champion, fairness, drift), run for plan and apply
and cached between them."""
