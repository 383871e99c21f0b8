"""The options ``run`` and ``cutover`` share, each declared once and applied to both.

An option's name, type, range, default and help live here; a command that means something else
by a flag of the same name (``--repeats``, ``-o``) declares its own.
"""

from __future__ import annotations

import click

from dist_bench import defaults
from dist_bench.units import MAX_WORKERS

backends_option = click.option(
    "-b",
    "--backends",
    default="all",
    show_default=True,
    help="Comma-separated backends, or 'all' (every installed one). serial is always run: "
    "it is the baseline.",
)

address_option = click.option(
    "--address",
    help="Existing cluster for the dask backend (tcp://HOST:8786) or the ray backend "
    "(auto, HOST:6379, ray://HOST:10001). Default: an embedded local cluster.",
)

workers_option = click.option(
    "-w",
    "--workers",
    type=click.IntRange(min=1, max=MAX_WORKERS),
    help="Parallel slots for every backend (default: each backend's own).",
)

blas_threads_option = click.option(
    "--blas-threads",
    type=click.IntRange(min=1, max=MAX_WORKERS),
    default=defaults.BLAS_THREADS,
    show_default=True,
    help="BLAS/OpenMP threads per worker.",
)
