"""Why one backend overtakes another: the cost that decides a crossover (``Reason``)."""

from __future__ import annotations

from typing import Literal

from dist_bench.costmodel.fit import CostFit
from dist_bench.costmodel.shapes import Axis, JobShape

#: Why one backend overtakes another: the cost that decides it.
Reason = Literal["GIL", "pickling", "dispatch overhead", "bandwidth", "start-up", "parallelism"]
#: Threads with a useful parallelism below this, though they had more workers, were held by the GIL.
GIL_BOUND_PARALLELISM = 1.5


def decisive_cost(light: CostFit, heavy: CostFit, axis: Axis, at: JobShape) -> Reason:
    """The cost that makes ``light`` (faster at the small end of ``axis``) beat ``heavy`` there."""
    if axis == "bytes_per_task":
        # Along bytes the per-byte cost decides: the one paying more of it loses above.
        return "bandwidth" if light.remote or heavy.remote else "pickling"
    gil_bound = (
        light.shares_memory
        and light.workers > 1
        and light.effective_parallelism < GIL_BOUND_PARALLELISM
    )
    if gil_bound and axis == "grain_s":
        return "GIL"
    # Otherwise the largest of heavy's extra fixed costs at this shape is what work must repay.
    extra: dict[Reason, float] = {
        "start-up": heavy.startup_s - light.startup_s,
        "dispatch overhead": at.tasks * (heavy.per_task_overhead_s - light.per_task_overhead_s),
        ("bandwidth" if heavy.remote else "pickling"): at.tasks
        * at.bytes_per_task
        * (_per_byte(heavy) - _per_byte(light)),
    }
    reason, cost = max(extra.items(), key=lambda item: item[1])
    if cost <= 0:
        return "GIL" if gil_bound else "parallelism"
    return reason


def _per_byte(fit: CostFit) -> float:
    return 1.0 / fit.bandwidth_bytes_per_s if fit.bandwidth_bytes_per_s else 0.0
