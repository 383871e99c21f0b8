"""The options several commands share, each declared once; and the shapes of option they all use.

An option's name, type, range, default and help live here; a command that means something else
by a flag of the same name (``--repeats``, ``-o``) declares its own with ``bounded_option``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from dist_bench import defaults
from dist_bench.cli.params import CommaList, OneValue
from dist_bench.units import MAX_REPEATS, MAX_WORKERS, parse_count, parse_workers

#: What ``click.option`` returns: it adds the option to the command it decorates.
Decorator = Callable[[Callable[..., Any]], Callable[..., Any]]


def bounded_option(
    flag: str, *, low: int, default: int | None, help: str, high: int | None = MAX_REPEATS
) -> Decorator:
    """A whole number from ``low`` to ``high`` (None: unbounded), its default shown."""
    return click.option(
        flag,
        type=click.IntRange(min=low, max=high),
        default=default,
        show_default=default is not None,
        help=help,
    )


def list_option(
    flag: str, parse: Callable[[str], Any], kind: str, name: str | None = None, **settings: Any
) -> Decorator:
    """A comma list of ``kind`` (``counts``, ``sizes``), each item parsed by ``parse``.

    ``name`` is the parameter's name, when not the flag's.
    """
    return _parsed_option(flag, name, CommaList(parse, kind), settings)


def value_option(
    flag: str, parse: Callable[[str], Any], kind: str, name: str | None = None, **settings: Any
) -> Decorator:
    """One ``kind`` of value (``duration``, ``size``), parsed by ``parse``; ``name`` as above."""
    return _parsed_option(flag, name, OneValue(parse, kind), settings)


def _parsed_option(
    flag: str, name: str | None, parameter: CommaList | OneValue, settings: dict[str, Any]
) -> Decorator:
    declarations = [flag] if name is None else [flag, name]
    return click.option(*declarations, type=parameter, **settings)


def plot_option(what: str) -> Decorator:
    """``--plot FILE``: also draw ``what`` to an image, its format named by the suffix."""
    return click.option(
        "--plot",
        type=click.Path(dir_okay=False, path_type=Path),
        help=f"Also draw {what} to this .png/.svg/.pdf (needs matplotlib).",
    )


def project_nodes_option(help: str) -> Decorator:
    """``--project-nodes 2,4,8``: node counts to project speedups to (never measured)."""
    return list_option("--project-nodes", parse_count, "counts", help=help)


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

worker_counts_option = click.option(
    "-w",
    "--workers",
    type=CommaList(parse_workers, "counts"),
    help="Parallel slots for every backend (default: each backend's own); a comma list (1,2) "
    "starts each backend once per count: a worker-count sweep, through which the report fits "
    "Amdahl's law (Gustafson's with --weak).",
)

blas_threads_option = bounded_option(
    "--blas-threads",
    low=1,
    high=MAX_WORKERS,
    default=defaults.BLAS_THREADS,
    help="BLAS/OpenMP threads per worker.",
)
