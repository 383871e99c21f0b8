"""The ``dist-bench`` command group and its entry point; the only package that prints or exits.

It parses, calls the library and renders. The commands live in one module per kind: measuring
(``measure_commands``), reading results (``report_commands``) and the local container cluster
(``cluster_commands``); their parameter types in ``params``, the options two commands share in
``options``, and what they show and how they end in ``render``.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

import click

from dist_bench import __version__
from dist_bench.cli.cluster_commands import cluster_group, driver_command
from dist_bench.cli.measure_commands import cutover_command, run_command
from dist_bench.cli.render import EXIT_INTERRUPTED, EXIT_USAGE, fail
from dist_bench.cli.report_commands import (
    advise_command,
    compare_command,
    list_command,
    report_command,
)
from dist_bench.cli.scale_command import scale_command
from dist_bench.errors import DistBenchError


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="dist-bench")
def cli() -> None:
    """Does a cluster pay off for my Python work, and from where?

    Runs the same workloads on serial, threads, asyncio, processes, Dask and Ray, checks every
    answer against the serial one, and reports speedups with confidence intervals and the reason
    behind each number (the GIL, dispatch overhead, moving bytes).

    \b
    Start with:  dist-bench list
                 dist-bench run cpu -b threads,processes
    """  # noqa: D301 - not raw: click's no-rewrap marker is a real backspace ("\b")


for _command in (
    list_command,
    run_command,
    report_command,
    compare_command,
    cutover_command,
    advise_command,
    scale_command,
    cluster_group,
):
    cli.add_command(_command)


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point: run the click group and map every error to one line and an exit code."""
    try:
        code = cli.main(args=argv, prog_name="dist-bench", standalone_mode=False)
    except click.UsageError as exc:
        fail(exc.format_message(), EXIT_USAGE)
    except click.ClickException as exc:
        fail(exc.format_message(), exc.exit_code)
    except click.Abort:
        fail("interrupted", EXIT_INTERRUPTED)
    except DistBenchError as exc:
        fail(str(exc), exc.exit_code)
    except KeyboardInterrupt:
        fail("interrupted", EXIT_INTERRUPTED)
    sys.exit(code if isinstance(code, int) else 0)


__all__ = ["cli", "driver_command", "main"]
