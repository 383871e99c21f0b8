"""Parsing human sizes from the command line: durations (``10ms``), byte counts (``4MiB``)."""

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
