"""How much faster each other interpreter did the serial work than the host's, per unit of work."""

from __future__ import annotations

import math

from dist_bench.backends.base import BASELINE
from dist_bench.results import Results, SizeKey
from dist_bench.stats import median


def runtime_serial_speedups(results: Results) -> dict[str, float]:
    """Per other runtime, how much faster its serial run did the same work than the host's.

    Each runtime calibrates its own units to the asked grain, so wall times compare nothing:
    the work per unit does, in CPU seconds (the runtimes run one after another, so a wall-time
    ratio would also hold any change in the machine's load between them). The median over the
    job sizes both measured serially (each the median of its rounds: every round calibrates its
    own units, so records are not pooled here); a runtime with none in common is left out.
    Above 1: that interpreter is faster on one thread.
    """
    samples: dict[SizeKey, list[float]] = {}
    for record in results.records:
        if (
            record.backend == BASELINE
            and record.verified
            and record.task_cpu_s
            and not math.isnan(median(record.task_cpu_s))
            and record.units
        ):
            per_unit_s = median(record.task_cpu_s) / (record.tasks * record.units)
            samples.setdefault(record.size_key(), []).append(per_unit_s)
    per_unit = {key: median(values) for key, values in samples.items()}
    ratios: dict[str, list[float]] = {}
    for key, seconds in per_unit.items():
        host = per_unit.get((*key[:4], ""))
        if key[4] and host is not None and seconds > 0:
            ratios.setdefault(key[4], []).append(host / seconds)
    return {label: median(values) for label, values in ratios.items()}
