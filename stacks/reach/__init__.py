"""How a slot is reached and measured, behind one interface for every target: a `SlotClient`
sends requests (plain HTTP, or signed SageMaker calls) and a metrics source reads what the
slot served (cumulative counters from /metrics or Prometheus, or per-period windows from
CloudWatch). Each target hands out the kinds its slots need; callers pick behaviour by the
source's type, never by the shape of an address."""
