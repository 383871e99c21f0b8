"""One record per shape a backend ran: repeated measurements of the same shape pooled.

The cutover search measures some shapes again (for evidence on both sides of a crossover, or in
the fill-in), and ``run --rounds`` measures the whole grid several times. Two rows of one shape
that disagree (1.26x and 1.79x) leave a reader to pick one, and a fit that keeps either throws
the other's samples away; their samples together are the measurement.

Each round (and each run appended to a file) calibrates its units of work per task anew, so two
measurements of one shape may be jobs of different lengths (1.5x the units after a calibration
at a quieter moment). They are pooled per unit of work, as ``compare`` and ``decisive`` compare
them: a later measurement's times are scaled to the first one's units (``at_units``) before its
samples join, and a speedup divides times of the same units.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

from dist_bench.results import Record

#: What makes two records measurements of the same thing: the shape, where and how it ran.
PoolKey = tuple[str, str, str, int, float, int, int, int, bool, int | None, str | None]


def pool_key(record: Record) -> PoolKey:
    """Workload, backend, interpreter, job shape, workers, tasks per dispatch, node-sweep size.

    Two series of a node sweep run the same job on the largest size (strong and weak scaling
    meet there): measured apart, they stay apart.
    """
    return (
        record.workload,
        record.backend,
        record.runtime,
        record.tasks,
        record.grain_s,
        record.bytes_per_task,
        record.workers,
        record.chunk,
        record.chunk_auto,
        record.nodes,
        record.scaling,
    )


def pool_records(records: Iterable[Record], by_round: bool = False) -> list[Record]:
    """The records with each shape's repeated measurements merged, in first-measured order.

    Merged: the samples of every measurement side by side, in the first one's units of work
    (``at_units``; the warm-ups too: the first is still the cold job), the answer verified only
    if every one was, the engine's notes of each. A
    failed measurement stays a row of its own: its reason is not a sample. With ``by_round``,
    only measurements of one round merge: the cost model keeps the rounds apart, their spread
    being the run-to-run drift (``dist_bench.decisive``).
    """
    pooled: dict[tuple[PoolKey, int] | int, Record] = {}
    for position, record in enumerate(records):
        if record.error is not None or not record.wall_s:
            pooled[position] = record
            continue
        key = (pool_key(record), record.round if by_round else 0)
        earlier = pooled.get(key)
        pooled[key] = record if earlier is None else _merged(earlier, record)
    return list(pooled.values())


def at_units(record: Record, units: int) -> Record:
    """``record`` with its times scaled to ``units`` units of work per task (time per unit × units).

    The whole of each time is scaled, its fixed part (start-up, dispatch, moving bytes) too: exact
    for the work, off by that part's share times the units' ratio minus one (a few per cent for
    calibrations a few per cent apart). Placement is not scaled: it moves bytes, not units. The
    same record when the units already agree.
    """
    if units == record.units:
        return record
    factor = units / max(1, record.units)
    return dataclasses.replace(
        record,
        units=units,
        wall_s=[value * factor for value in record.wall_s],
        warmup_s=[value * factor for value in record.warmup_s],
        task_s=[value * factor for value in record.task_s],
        task_cpu_s=[value * factor for value in record.task_cpu_s],
    )


def _merged(first: Record, second: Record) -> Record:
    second = at_units(second, first.units)
    return dataclasses.replace(
        first,
        wall_s=first.wall_s + second.wall_s,
        warmup_s=first.warmup_s + second.warmup_s,
        task_s=first.task_s + second.task_s,
        task_cpu_s=first.task_cpu_s + second.task_cpu_s,
        distinct_workers=max(first.distinct_workers, second.distinct_workers),
        placement_s=first.placement_s if first.placement_s is not None else second.placement_s,
        verified=first.verified and second.verified,
        notes=list(dict.fromkeys(first.notes + second.notes)),
        round=min(first.round, second.round),
    )
