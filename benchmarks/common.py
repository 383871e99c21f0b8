"""What every benchmark here shares: the tiny task, the load, a free port, how a verdict prints.

The benchmarks ship this module to the engines' workers (``backend.start(ship=[common])``), as
dist-bench ships a user's workload file, so Dask and Ray workers can run ``spin``.
"""

from __future__ import annotations

import os
import socket
import statistics
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

from dist_bench.backends.base import Backend
from dist_bench.measure import MeasureSettings, PreparedJob, measure
from dist_bench.results import Record
from dist_bench.units import ChunkMode
from dist_bench.workload import Job, TaskArgs, Workload


def spin(units: int) -> int:
    """Pure-Python work: ``units`` loop iterations (calibrated to a grain like any workload)."""
    total = 0
    for value in range(units):
        total += value & 7
    return total


def make_tasks(job: Job) -> list[TaskArgs]:
    """``job.tasks`` identical tasks of ``job.units`` iterations."""
    return [(job.units,)] * job.tasks


SPIN = Workload(
    name="spin",
    summary="pure-Python loop of a calibrated length",
    make_tasks=make_tasks,
    task=spin,
    combine=sum,
)


def this_module() -> ModuleType:
    """This module, to ship to workers that cannot import it by name."""
    return sys.modules[__name__]


def load() -> str:
    """The load average now, to print beside every figure (the CPU is shared)."""
    one, five, fifteen = os.getloadavg()
    return f"load {one:.2f} {five:.2f} {fifteen:.2f} (1/5/15 min) on {os.cpu_count()} cores"


def run_jobs(
    backend: Backend,
    prepared: PreparedJob,
    chunk: ChunkMode,
    repeats: int = 1,
    warmup: int = 0,
    dispatch_s: float | None = None,
) -> Record:
    """dist-bench's own measurement of ``prepared`` on ``backend``; its answers must be right.

    One call binds the task function once, as a real run does per job size: Ray then exports it
    and Dask pickles it once, in the first (warm-up) job, so pass ``warmup=1`` with repeats.
    """
    settings = MeasureSettings(repeats=repeats, warmup=warmup, chunk=chunk)
    tasks = prepared.workload.make_tasks(prepared.job)
    record = measure(backend, prepared, tasks, settings, dispatch_s=dispatch_s)
    if not record.verified:
        raise RuntimeError(f"{backend.name}: wrong answer")
    return record


def free_port() -> int:
    """A port nothing listens on on loopback (free when asked)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def median(values: list[float]) -> float:
    """The median of ``values``."""
    return statistics.median(values)


def verdict(name: str, figure: str, target: str, met: bool) -> bool:
    """Print one result line with its target and whether it was met; return ``met``."""
    print(f"{name}: {figure}; target {target}: {'met' if met else 'MISSED'}  [{load()}]")
    return met


def fresh_cutover(workloads: list[str], backends: list[str], budget_s: float, folder: Path) -> Path:
    """Run ``dist-bench cutover`` as a user would, into ``folder``; return its results file.

    A fresh run, not a chosen file: what a benchmark of the analysis must start from.
    """
    output = folder / "cutover.json"
    command = [sys.executable, "-m", "dist_bench", "cutover", *workloads]
    command += ["-b", ",".join(backends), "--budget", f"{budget_s:g}s", "-o", str(output)]
    print("$ dist-bench " + " ".join(command[3:]), flush=True)
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    return output


def in_turns(
    backends: Sequence[Backend], prepared: PreparedJob, chunk: ChunkMode, repeats: int
) -> dict[str, Record]:
    """``repeats`` jobs of ``prepared`` on each started backend, the backends taking turns job by
    job (after one warm-up each), so a change in the machine's load cannot favour one of them."""
    from dist_bench.backend_session import measure_prepared

    warm = MeasureSettings(repeats=1, warmup=1, chunk=chunk)
    once = MeasureSettings(repeats=1, warmup=0, chunk=chunk)
    records = {b.name: measure_prepared(b, prepared, warm) for b in backends}
    for _ in range(repeats - 1):
        for backend in backends:
            records[backend.name].wall_s.extend(measure_prepared(backend, prepared, once).wall_s)
    for name, record in records.items():
        if not record.verified:
            raise RuntimeError(f"{name}: {record.error or 'wrong answer'}")
    return records
