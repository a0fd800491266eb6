"""`shipyard plan`: what a change to the specs would do (pure `build_plan`), the plan of a pull
request, and the plan of offline gates alone."""
