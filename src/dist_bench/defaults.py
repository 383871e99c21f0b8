"""The defaults the library's plans and the command line share, each defined once.

Nothing heavy is imported here: the command line reads these while building ``--help``, which
must stay instant (tests/test_startup.py).
"""

from __future__ import annotations

import os
from pathlib import Path

from dist_bench.errors import UsageError

#: Measured jobs per backend and size: 6 is the fewest whose order-statistics interval for the
#: median reaches 96.9 % (5 gives 93.8 %).
REPEATS = 6
#: Unmeasured jobs first; the first is the cold one, stored apart.
WARMUP = 1
#: BLAS/OpenMP threads per worker, so workers x threads stays within the cores.
BLAS_THREADS = 1

#: The cutover search's time budget: the default run (5 workloads, 6 backends, Dask and Ray
#: started embedded) must end within 3 minutes on a 2-core machine; start-ups and the analysis
#: come on top. 120 s ended in 134-139 s on an idle machine (2026-12-01) while the second round
#: wanted about 36 s of measuring and had about 25: 135 s gives the second round the rest.
CUTOVER_BUDGET_S = 135.0
#: The cutover search's measured jobs per shape; 3 already gives an order-statistics interval,
#: refinement adds shapes.
CUTOVER_REPEATS = 3
#: Where ``cutover`` saves its results and ``advise`` reads them when no path is given.
CUTOVER_FILE = Path("results/cutover.json")
#: The reports ``cutover`` writes beside its results file (those whose software is installed).
CUTOVER_REPORTS = ("html", "md", "csv", "png")

#: ``cluster up``: the compose project, worker containers and each one's share of the machine.
CLUSTER_PROJECT = "dist-bench"
CLUSTER_WORKERS = 2
CLUSTER_CPUS = 1.0
CLUSTER_MEMORY_GIB = 2
#: How long ``cluster up`` waits for every worker to join before it fails naming the logs.
CLUSTER_UP_TIMEOUT_S = 180.0


def cutover_results_path(output: str) -> Path:
    """The results file ``cutover -o OUTPUT`` names: a file, or cutover.json in a folder.

    A folder (an existing one, or ``OUTPUT`` ending in ``/``) is made when missing, and so is
    the default's (``results/``); a file's missing folder is not (a typo should fail before the
    run, in ``ResultsWriter``, not create folders).

    Raises:
        UsageError: the folder cannot be made (a file is in the way, no permission).
    """
    path = Path(output)
    try:
        # Inside a folder the user cannot enter, even asking whether it is a folder is refused.
        is_folder = path.is_dir()
    except OSError as exc:
        raise UsageError(f"cannot write {output!r}: {exc.strerror}") from None
    if is_folder or output.endswith(("/", os.sep)):
        folder, path = path, path / CUTOVER_FILE.name
    elif path == CUTOVER_FILE:
        folder = path.parent
    else:
        return path
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"cannot make the folder {str(folder)!r} for -o: {exc.strerror}") from None
    return path
