"""Human sizes: durations (``10ms``) and byte counts (``4MiB``), parsed and formatted."""

from __future__ import annotations

import re

_NUMBER_WITH_UNIT = re.compile(r"^\s*([0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)\s*([a-zA-Zµ]*)\s*$")

_SECONDS_PER_UNIT = {"": 1.0, "s": 1.0, "ms": 1e-3, "us": 1e-6, "µs": 1e-6, "m": 60.0, "min": 60.0}
_BYTES_PER_UNIT = {
    "": 1,
    "b": 1,
    "k": 1000,
    "kb": 1000,
    "m": 1000**2,
    "mb": 1000**2,
    "g": 1000**3,
    "gb": 1000**3,
    "kib": 1024,
    "mib": 1024**2,
    "gib": 1024**3,
}


def _split(text: str, what: str, example: str) -> tuple[float, str]:
    match = _NUMBER_WITH_UNIT.match(text)
    if match is None:
        raise ValueError(f"{text!r} is not a {what} (example: {example})")
    return float(match.group(1)), match.group(2)


def parse_duration(text: str) -> float:
    """Seconds from ``"0.5"``, ``"20ms"``, ``"150us"``, ``"2s"``; must be above zero."""
    value, unit = _split(text, "duration", "20ms, 0.5s")
    if unit not in _SECONDS_PER_UNIT:
        raise ValueError(f"unknown time unit {unit!r} in {text!r}; use s, ms or us")
    seconds = value * _SECONDS_PER_UNIT[unit]
    if seconds <= 0:
        raise ValueError(f"duration {text!r} must be above zero")
    return seconds


def parse_bytes(text: str) -> int:
    """Bytes from ``"4096"``, ``"64KiB"``, ``"4MB"``; must be above zero."""
    value, unit = _split(text, "byte size", "64KiB, 4MB")
    factor = _BYTES_PER_UNIT.get(unit.lower())
    if factor is None:
        raise ValueError(f"unknown size unit {unit!r} in {text!r}; use B, KiB, MiB, KB, MB")
    count = int(value * factor)
    if count <= 0:
        raise ValueError(f"byte size {text!r} must be at least 1 byte")
    return count


def parse_count(text: str) -> int:
    """A whole number above zero (``"16"``)."""
    try:
        count = int(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a whole number") from None
    if count <= 0:
        raise ValueError(f"{text!r} must be 1 or more")
    return count


#: The ``--chunk`` value that sizes chunks from the backend's measured dispatch cost.
AUTO = "auto"

#: ``--chunk``: ``AUTO`` or a fixed number of tasks per dispatch.
ChunkMode = int | str


def parse_chunk(text: str) -> ChunkMode:
    """``auto`` or a positive number of tasks per dispatch.

    Raises:
        ValueError: anything else, with a message saying what is accepted.
    """
    value = text.strip().lower()
    if value == AUTO:
        return AUTO
    if value.isdigit() and int(value) >= 1:
        return int(value)
    raise ValueError(f"chunk {text!r} is neither 'auto' nor a positive number of tasks")


def format_seconds(seconds: float) -> str:
    """A duration with a unit a person reads at a glance (``12.3 ms``)."""
    magnitude = abs(seconds)
    if magnitude >= 1.0:
        return f"{seconds:.2f} s"
    if magnitude >= 1e-3:
        return f"{seconds * 1e3:.1f} ms"
    return f"{seconds * 1e6:.0f} µs"


def format_bytes(count: int) -> str:
    """A byte count in binary units (``4.0 MiB``)."""
    value = float(count)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GiB"  # pragma: no cover - the loop always returns
