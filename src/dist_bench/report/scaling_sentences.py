"""Node and worker sweeps in words: a series' fitted law and its held-out check; a node's slice."""

from __future__ import annotations

from dist_bench.scaling import Law, ScaleAxis, Scaling, ScalingCurve
from dist_bench.units import format_bytes

#: A fitted serial fraction below this is said to be none: its cap (1/f, over 200x) is far
#: beyond any size measured, and the fit cannot tell it from zero.
NO_SERIAL_PART = 0.005


def node_slice_text(cpus: float | None, memory_bytes: int | None) -> str:
    """One node's slice: ``0.5 CPU, 1.0 GiB``."""
    parts = [] if cpus is None else [f"{cpus:g} CPU"]
    if memory_bytes is not None:
        parts.append(format_bytes(memory_bytes))
    return ", ".join(parts) or "?"


#: What a series' sizes are called, one and several.
SIZE_WORDS = {ScaleAxis.NODES: ("node", "nodes"), ScaleAxis.WORKERS: ("worker", "workers")}


def scaling_sentence(curve: ScalingCurve) -> str:
    """What one node or worker sweep's series shows: the law fitted, and how well it predicted."""
    law = "Amdahl" if curve.fit is None or curve.fit.law is Law.AMDAHL else "Gustafson"
    one, several = SIZE_WORDS[curve.axis]
    series = (
        "the same total work on every size"
        if curve.scaling is Scaling.STRONG
        else f"the same work per {one}"
    )
    head = (
        f"{curve.workload} on {curve.backend}, {curve.scaling.value} scaling over {several} "
        f"({series})"
    )
    if curve.fit is None:
        return f"{head}: too few sizes to fit {law}'s law."
    largest = curve.points[-1]
    text = (
        f"{head}: {largest.speedup:.2f}x on {largest.size} {several} against {curve.base_size} "
        f"({largest.efficiency:.0%} efficient); {law}'s law fits a serial fraction of "
        f"{curve.fit.serial_fraction:.3f}"
    )
    if curve.fit.law is Law.AMDAHL:
        if curve.fit.serial_fraction >= NO_SERIAL_PART:
            text += f", which caps the speedup at {1 / curve.fit.serial_fraction:.1f}x"
        else:
            text += " (none measurable: nothing seen here caps the speedup)"
    if curve.held_out is None:
        return text + "; too few sizes to check it on a size it did not see."
    check = curve.held_out
    return text + (
        f". Fitted without {check.size} {several}, it predicted {check.predicted_speedup:.2f}x "
        f"there; measured {check.measured_speedup:.2f}x (error {check.error:+.0%})."
    )


def node_projection_note() -> str:
    """What the node projection table is, said once under it."""
    return (
        "PROJECTIONS, not measurements: each fitted law extended to more nodes than were "
        "measured. The held-out error is how far the same law, fitted without the largest "
        "measured size, missed that size: the projection's own track record."
    )
