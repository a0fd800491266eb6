"""The one duration and quantity parser: `30s`, `5m`, `1h30m`, `500ms`; `512Mi`, `500m`."""

from __future__ import annotations

import re

_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
_PART = re.compile(r"([0-9]+(?:\.[0-9]+)?)(ms|s|m|h)")
_QUANTITY = re.compile(r"([0-9]+(?:\.[0-9]+)?)(m|k|M|G|Ki|Mi|Gi)?")
_QUANTITY_FACTOR = {
    None: 1.0,
    "m": 0.001,
    "k": 1e3,
    "M": 1e6,
    "G": 1e9,
    "Ki": 1024.0,
    "Mi": 1024.0**2,
    "Gi": 1024.0**3,
}


def parse_duration(text: str) -> float:
    """Seconds in a duration string; ValueError when it is not one."""
    parts = _PART.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise ValueError(f"not a duration: {text!r} (expected e.g. 500ms, 30s, 5m, 1h30m)")
    return sum(float(number) * _UNIT_SECONDS[unit] for number, unit in parts)


def parse_quantity(text: str) -> float:
    """The value of a Kubernetes-style quantity (`512Mi` -> bytes, `500m` -> 0.5)."""
    match = _QUANTITY.fullmatch(text)
    if not match:
        raise ValueError(f"not a quantity: {text!r} (expected e.g. 500m, 2, 512Mi, 1Gi)")
    return float(match.group(1)) * _QUANTITY_FACTOR[match.group(2)]


def format_duration(seconds: float) -> str:
    """The shortest duration string for `seconds`: 90 -> `1m30s`, 0.5 -> `500ms`."""
    if seconds < 1:
        return f"{round(seconds * 1000)}ms"
    whole, parts = round(seconds), []
    for unit, size in (("h", 3600), ("m", 60), ("s", 1)):
        if whole >= size:
            parts.append(f"{whole // size}{unit}")
            whole %= size
    return "".join(parts)
