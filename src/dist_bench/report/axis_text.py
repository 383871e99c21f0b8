"""Values on the cost model's axes as text: a grain, a task count, bytes; where a crossover lies.

Every report and benchmark that names a point or a span on an axis goes through here, so a
crossover reads the same in a sentence, a table cell and a benchmark's log.
"""

from __future__ import annotations

from dist_bench.costmodel import Axis, Crossover
from dist_bench.units import format_bytes, format_seconds


def format_axis(axis: Axis, value: float) -> str:
    """A value on ``axis`` for a sentence (``1.2 ms``, ``40 tasks``, ``1.0 MiB``)."""
    if axis == "grain_s":
        return format_seconds(value)
    if axis == "tasks":
        return f"{value:.0f} tasks"
    return format_bytes(round(value))


def format_interval(crossover: Crossover) -> str:
    """The crossover's interval; an end clipped at the searched range reads as open there."""
    interval = crossover.interval
    if interval is None:
        return "-"
    low, high = crossover.searched
    axis = crossover.axis
    start = (
        f"≤ {format_axis(axis, low)}" if interval.low <= low else format_axis(axis, interval.low)
    )
    end = (
        f"≥ {format_axis(axis, high)}"
        if interval.high >= high
        else format_axis(axis, interval.high)
    )
    return f"{start} – {end}"


def format_location(crossover: Crossover) -> str:
    """Where a reached crossover lies: the estimate and its interval, or the measured bracket."""
    below, above = crossover.evidence_below, crossover.evidence_above
    if crossover.equal_span is not None:
        return "about equal " + format_span(crossover.axis, crossover.equal_span)
    if crossover.bracketed_only and below is not None and above is not None:
        ends = (format_axis(crossover.axis, e.value) for e in (below, above))
        why = "model rough" if crossover.rough else "model outside"
        return "between {} and {} (measured; {})".format(*ends, why)
    text = format_axis(crossover.axis, crossover.value or 0.0)
    return text if crossover.interval is None else f"{text} ({format_interval(crossover)})"


def format_span(axis: Axis, span: tuple[float, float]) -> str:
    """``from 1.0 ms to 5.0 ms``, or ``at 1.0 ms`` for a single measured shape."""
    low, high = (format_axis(axis, v) for v in span)
    return f"at {low}" if low == high else f"from {low} to {high}"


def unsettled_text(crossover: Crossover) -> str:
    """An unsettled pair in a few words: neither measured the faster throughout, or never both."""
    if crossover.compared is None:
        return "not measured by both at the same shapes"
    low, high = (format_axis(crossover.axis, v) for v in crossover.compared)
    if low == high:
        return f"neither faster beyond a tie at {low}, the one shape both measured"
    return f"neither faster throughout between {low} and {high}, where both were measured"
