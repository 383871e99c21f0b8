"""Data-heavy work: large NumPy arrays go into every task and come back out.

The lesson: parallel workers that do not share memory must be sent their data, and a result must be
sent back. When the work per byte is small, pickling and copying (across a pipe, or a network)
costs more than the computation saves, and the parallel backends lose to serial; threads, which
share the driver's memory, move nothing. Engines that can place an input once (Dask ``scatter``,
Ray ``put``) stop paying for the way in on every job. ``--bytes`` sets the array size per task.

Answer: the sum of every output array, compared with a relative tolerance.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from dist_bench.workload import Job, TaskArgs, TaskNature, Workload

# NumPy is imported inside the functions that use it: `dist-bench list` imports every workload file
# and must not pay for NumPy (a tenth of a second) to print their names.
if TYPE_CHECKING:
    import numpy as np

FLOAT_BYTES = 8


def make_tasks(job: Job) -> list[TaskArgs]:
    """One array of ``job.bytes_per_task`` bytes per task, made from the task's seed."""
    import numpy as np

    values = max(1, job.bytes_per_task // FLOAT_BYTES)
    return [
        (np.random.default_rng(seed).standard_normal(values), job.units)
        for seed in range(job.tasks)
    ]


def transform(values: np.ndarray, passes: int) -> np.ndarray:
    """Return a new array as large as the input after ``passes`` cheap element-wise passes."""
    import numpy as np

    out: np.ndarray = np.abs(values)
    for _ in range(passes):
        out = np.sqrt(out + 1.0)
    return out


def output_sums(results: list[np.ndarray]) -> list[float]:
    """The answer: one sum per output array, in task order."""
    return [float(array.sum()) for array in results]


WORKLOAD = Workload(
    name="data",
    summary="large NumPy arrays in and out of every task: moving bytes is the cost",
    make_tasks=make_tasks,
    task=transform,
    combine=output_sums,
    moves_bytes=True,
    large_inputs=True,
    default_tasks=16,
    default_grain_s=0.01,
    default_bytes=4 * 1024 * 1024,
    nature=TaskNature.MOVES_DATA,
    uses_numpy=True,
)
