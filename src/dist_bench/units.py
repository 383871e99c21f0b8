"""Human sizes: durations (``10ms``) and byte counts (``4MiB``), parsed and formatted."""

from __future__ import annotations

import math
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
    "t": 1000**4,
    "tb": 1000**4,
    "tib": 1024**4,
}


#: The longest duration accepted (a ``--budget``, a timeout): a day. Beyond it a typo (``1e400``
#: is infinity) is likelier than a plan, and infinity would make every estimate meaningless.
MAX_DURATION_S = 24 * 3600.0
#: The longest task grain accepted: an hour. Every task of every job runs that long, serially
#: once for the reference answer and again on each backend.
MAX_GRAIN_S = 3600.0
#: The largest byte size accepted (data per task, container memory): 1 TiB.
MAX_BYTES = 1024**4
#: The largest count accepted (tasks per job, nodes): the driver holds every task's arguments in
#: memory, about 100 bytes each at the least, so 10**8 tasks already need 10 GB.
MAX_COUNT = 10**8
#: The most parallel slots or BLAS threads asked for (``--workers``, ``--blas-threads``): far
#: beyond one machine's cores, and short of a fork bomb (process pools start every worker).
MAX_WORKERS = 1024
#: The most measured or warm-up jobs per size: a run's plan multiplies by it.
MAX_REPEATS = 10_000


def _split(text: str, what: str, example: str) -> tuple[float, str]:
    match = _NUMBER_WITH_UNIT.match(text)
    if match is None:
        raise ValueError(f"{text!r} is not a {what} (example: {example})")
    return float(match.group(1)), match.group(2)


def parse_duration(text: str, at_most: float = MAX_DURATION_S) -> float:
    """Seconds from ``"0.5"``, ``"20ms"``, ``"150us"``, ``"2s"``; above zero, at most ``at_most``.

    Raises:
        ValueError: not a duration, an unknown unit, zero, or longer than ``at_most``.
    """
    value, unit = _split(text, "duration", "20ms, 0.5s")
    if unit not in _SECONDS_PER_UNIT:
        raise ValueError(f"unknown time unit {unit!r} in {text!r}; use s, ms or us")
    seconds = value * _SECONDS_PER_UNIT[unit]
    if not seconds > 0:
        raise ValueError(f"duration {text!r} must be above zero")
    # Written so that infinity (float("1e400")) is refused too.
    if not seconds <= at_most:
        raise ValueError(f"duration {text!r} is too long: at most {at_most:g} s")
    return seconds


def parse_grain(text: str) -> float:
    """A task grain: a duration (``parse_duration``) of at most ``MAX_GRAIN_S``."""
    return parse_duration(text, at_most=MAX_GRAIN_S)


def parse_bytes(text: str) -> int:
    """Bytes from ``"4096"``, ``"64KiB"``, ``"4MB"``; at least 1, at most ``MAX_BYTES``.

    Raises:
        ValueError: not a size, an unknown unit, under a byte, or over ``MAX_BYTES``.
    """
    value, unit = _split(text, "byte size", "64KiB, 4MB")
    factor = _BYTES_PER_UNIT.get(unit.lower())
    if factor is None:
        raise ValueError(f"unknown size unit {unit!r} in {text!r}; use B, KiB, MiB, GiB, MB, GB")
    size = value * factor
    # Checked as a float: int() of an infinite size (1e400) would raise OverflowError.
    if not math.isfinite(size) or size > MAX_BYTES:
        raise ValueError(f"byte size {text!r} is too large: at most {format_bytes(MAX_BYTES)}")
    count = int(size)
    if count <= 0:
        raise ValueError(f"byte size {text!r} must be at least 1 byte")
    return count


#: Link rates as tc spells them: bits per second, decimal prefixes (``1gbit`` = 10⁹ bit/s).
_BITS_PER_UNIT = {"bit": 1, "kbit": 1000, "mbit": 1000**2, "gbit": 1000**3}
#: The slowest link accepted: below it a job's data takes longer than any useful run (and tbf's
#: buffer, sized from the rate, would hold less than one packet).
MIN_LINK_RATE_BITS = 1000**2
#: The fastest: beyond 100 Gbit/s the bridge between containers is the limit, not the shaper.
MAX_LINK_RATE_BITS = 100 * 1000**3


def parse_rate(text: str) -> int:
    """Bits per second from ``"1gbit"``, ``"100mbit"``, ``"2.5gbit"`` (tc's spelling).

    Raises:
        ValueError: not a rate, an unknown unit, or outside 1 mbit to 100 gbit.
    """
    value, unit = _split(text, "link rate", "1gbit, 100mbit")
    factor = _BITS_PER_UNIT.get(unit.lower())
    if factor is None:
        raise ValueError(f"unknown rate unit {unit!r} in {text!r}; use kbit, mbit or gbit")
    bits = value * factor
    if not MIN_LINK_RATE_BITS <= bits <= MAX_LINK_RATE_BITS:
        raise ValueError(f"link rate {text!r} must be between 1mbit and 100gbit")
    return round(bits)


def format_rate(bits_per_s: float) -> str:
    """A link rate in decimal units, as networks are sold (``940 Mbit/s``)."""
    for unit, size in (("Gbit/s", 1e9), ("Mbit/s", 1e6), ("kbit/s", 1e3)):
        if bits_per_s >= size:
            return f"{bits_per_s / size:.3g} {unit}"
    return f"{bits_per_s:.0f} bit/s"


def parse_count(text: str) -> int:
    """A whole number from 1 to ``MAX_COUNT`` (``"16"``).

    Raises:
        ValueError: not a whole number written in ASCII digits, or out of range.
    """
    digits = text.strip().removeprefix("-")
    # int() also reads other scripts' digits ("١٦") and underscores ("1_000"); a count is
    # plain ASCII digits, like the other numbers on the command line.
    if not (digits.isascii() and digits.isdigit()):
        raise ValueError(f"{text!r} is not a whole number")
    count = int(text)
    if count <= 0:
        raise ValueError(f"{text!r} must be 1 or more")
    if count > MAX_COUNT:
        raise ValueError(f"{text!r} is too large: at most {MAX_COUNT:,}")
    return count


def parse_workers(text: str) -> int:
    """A worker count from 1 to ``MAX_WORKERS`` (``"2"``).

    Raises:
        ValueError: not a whole number, or out of range.
    """
    count = parse_count(text)
    if count > MAX_WORKERS:
        raise ValueError(f"{text!r} is too many workers: at most {MAX_WORKERS:,}")
    return count


def parse_port(text: str) -> int:
    """A TCP port number, 1 to 65535, in ASCII digits (``"8786"``).

    ``str.isdigit`` alone is not enough: it accepts ``"²"``, which ``int`` refuses.

    Raises:
        ValueError: anything else.
    """
    if not (text.isascii() and text.isdigit()) or not 0 < int(text) < 65536:
        raise ValueError(f"{text!r} is not a port number (1 to 65535)")
    return int(text)


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
    if value.isascii() and value.isdigit() and 1 <= int(value) <= MAX_COUNT:
        return int(value)
    raise ValueError(
        f"chunk {text!r} is neither 'auto' nor a positive number of tasks (at most {MAX_COUNT:,})"
    )


def format_seconds(seconds: float) -> str:
    """A duration with a unit a person reads at a glance (``12.3 ms``)."""
    magnitude = abs(seconds)
    if magnitude >= 1.0:
        return f"{seconds:.2f} s"
    if magnitude >= 1e-3:
        return f"{seconds * 1e3:.1f} ms"
    return f"{seconds * 1e6:.0f} µs"


#: Units beyond a minute for ``format_duration``, largest first.
_LONG_UNITS = (("years", 365 * 86400.0), ("days", 86400.0), ("h", 3600.0), ("min", 60.0))


def format_duration(seconds: float) -> str:
    """A duration of any length, as ``format_seconds`` or in min, h, days, years (``3.2 h``)."""
    for unit, size in _LONG_UNITS:
        if abs(seconds) >= size:
            return f"{seconds / size:.1f} {unit}"
    return format_seconds(seconds)


def format_bytes(count: int) -> str:
    """A byte count in binary units (``4.0 MiB``)."""
    value = float(count)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} TiB"  # pragma: no cover - the loop always returns
