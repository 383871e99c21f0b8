"""NumPy/BLAS work: repeated matrix products, computed in C with the GIL released.

The lesson: NumPy releases the GIL inside BLAS, so here even threads run side by side. But BLAS has
threads of its own: N workers each starting one BLAS thread per core oversubscribe the machine and
slow everyone down. dist-bench caps BLAS at ``--blas-threads`` (default 1) per worker so that
workers x BLAS threads fit the cores; raise it to see the oversubscription for yourself.

Answer: the sum of the traces of every product, compared with a relative tolerance because BLAS may
add in a different order on another backend.
"""

from __future__ import annotations

from dist_bench.workload import Job, TaskArgs, TaskNature, Workload

#: Side of the square matrices: big enough for BLAS to dominate Python's call overhead.
MATRIX_SIDE = 192


def make_tasks(job: Job) -> list[TaskArgs]:
    """One task per seed, each doing ``job.units`` matrix products."""
    return [(seed, job.units) for seed in range(job.tasks)]


def multiply(seed: int, products: int) -> float:
    """Multiply two random matrices ``products`` times, feeding each result back in."""
    # Imported here, not at the top: `dist-bench list` imports every workload file and must not
    # pay for NumPy (a tenth of a second) to print their names.
    import numpy as np

    rng = np.random.default_rng(seed)
    left = rng.standard_normal((MATRIX_SIDE, MATRIX_SIDE)) / np.sqrt(MATRIX_SIDE)
    right = rng.standard_normal((MATRIX_SIDE, MATRIX_SIDE)) / np.sqrt(MATRIX_SIDE)
    total = 0.0
    for _ in range(products):
        # Normalising keeps the values from overflowing however many products a grain asks for.
        left = left @ right
        left /= np.abs(left).max()
        total += float(np.trace(left))
    return total


def sum_traces(results: list[float]) -> float:
    """The answer: the traces summed over all tasks."""
    return float(sum(results))


WORKLOAD = Workload(
    name="blas",
    summary="NumPy matrix products: release the GIL; BLAS threads capped per worker",
    make_tasks=make_tasks,
    task=multiply,
    combine=sum_traces,
    default_tasks=16,
    default_grain_s=0.05,
    nature=TaskNature.RELEASES_GIL,
    uses_numpy=True,
)
