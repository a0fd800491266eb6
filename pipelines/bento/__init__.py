"""The generic BentoML service every spec is served by, and the build that packs it.

`service.py` is standalone (it runs inside the Bento, where Shipyard is not installed): it
reads its settings from `shipyard.json` beside it. No Python is generated per model.
"""
