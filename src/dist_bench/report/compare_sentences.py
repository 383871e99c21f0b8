"""compare's workload-level verdicts and its failure in words (the pairs' words are its table's).

``compare`` returns data (``comparison``'s types); the CLI prints these lines after the table.
"""

from __future__ import annotations

from dist_bench.comparison import Change, Comparison, WorkloadChange


def workload_sentence(found: WorkloadChange) -> str:
    """One workload's pairs on every backend together ("workload cpu: slower on every ...")."""
    where = (
        f"on every backend ({', '.join(found.backends)})"
        if len(found.backends) > 1
        else f"on {found.backends[0]}, every shape together"
    )
    verdict = "no change" if found.change is Change.SAME else f"{found.change.value} {where}"
    return (
        f"workload {found.workload}: {verdict}, x{found.ratio:.2f} "
        f"({found.interval.low:.2f}-{found.interval.high:.2f}) against the rest of each "
        f"backend's measurements; one round's mean drifts {found.residual_drift.relative:.1%}"
    )


def failure_message(comparison: Comparison) -> str | None:
    """Why ``compare`` fails (exit 1): how many regressions, and the first; ``None``: it passes."""
    count = (
        len(comparison.regressions)
        + len(comparison.slower_workloads)
        + len(comparison.slower_backends)
    )
    if comparison.regressions:
        first = comparison.regressions[0]
        return (
            f"{count} regression(s); first: {first.record.workload} on {first.record.backend} "
            f"({first.change.value})"
        )
    if comparison.slower_workloads:
        return f"{count} regression(s); first: {workload_sentence(comparison.slower_workloads[0])}"
    if comparison.slower_backends:
        shift = comparison.slower_backends[0]
        return (
            f"{count} regression(s): every measurement on {shift.backend} slower together "
            f"(x{shift.ratio:.2f}"
            f"{' against ' + ', '.join(shift.against) if shift.against else ''}), "
            "beyond its drift between rounds"
        )
    return None
