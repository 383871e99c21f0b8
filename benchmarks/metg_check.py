"""METG checked directly: efficiency measured at two grains around each METG a cutover reports.

Target (issue 10): for every METG(50 %) the analysis reports as a number (``MetgKind.REACHED``),
a direct efficiency sweep at half its grain is under 50 % and at twice its grain at or over 50 %.
Efficiency is the analysis's own: serial's median wall over the backend's median wall times its
parallel slots, on the METG's line (its tasks and bytes), with the chunk plan its records used.
METGs below the measured range or not reached in it are listed, not checked.

Serial and the backend run side by side, taking turns job by job (``common.in_turns``), so a
change in the machine's load cannot favour one of them; the grain asked is the METG's (a serial
grain; calibrated workloads hit it within a few per cent).

Run: ``.venv/bin/python benchmarks/metg_check.py [--from results/cutover.json] [--workloads
cpu,io] [--budget 100] [--repeats 7]``; without ``--from`` a fresh cutover runs first. Prints one
line per METG and a verdict; exits 1 when a checked METG is contradicted on either side.
Recorded results: benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from contextlib import ExitStack
from pathlib import Path

from common import fresh_cutover, in_turns, load, median, verdict
from dist_bench.analysis import parallel_slots
from dist_bench.backend_session import started_backend
from dist_bench.backends import BackendOptions, create_backend
from dist_bench.backends.base import BASELINE
from dist_bench.costmodel import METG_EFFICIENCY, MetgKind, analyse
from dist_bench.costmodel.fit import chunk_plan
from dist_bench.measure import prepare_job
from dist_bench.results import load_results
from dist_bench.results_writer import ResultsWriter
from dist_bench.units import format_seconds
from dist_bench.workload import Job, resolve_workloads, started_environment

#: The two grains checked: the METG divided and multiplied by this.
STEP = 2.0
BACKENDS = ["serial", "threads", "processes", "dask", "ray"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--from", dest="source", type=Path, help="a cutover's results file")
    parser.add_argument("--workloads", default="cpu")
    parser.add_argument("--backends", default=",".join(BACKENDS))
    parser.add_argument("--budget", type=float, default=100.0, help="cutover budget, seconds")
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    print(load())
    with tempfile.TemporaryDirectory() as scratch:
        source = args.source or fresh_cutover(
            args.workloads.split(","), args.backends.split(","), args.budget, Path(scratch)
        )
        results = load_results(source)
    analysis = analyse(results)
    checked = confirmed = contradicted = 0
    writer = ResultsWriter(None, {})
    for item in analysis.metgs:
        if item.kind is not MetgKind.REACHED or item.grain_s is None:
            best = item.best
            print(
                f"{item.workload}/{item.backend}: {item.kind.value} between "
                f"{format_seconds(item.searched[0])} and {format_seconds(item.searched[1])} "
                f"(best {best.efficiency:.0%} at {format_seconds(best.grain_s)}): not checked"
            )
            continue
        (workload,) = resolve_workloads([item.workload])
        plans = {
            chunk_plan(r)
            for r in results.records
            if r.workload == item.workload and r.backend == item.backend
        }
        chunk = plans.pop() if len(plans) == 1 else 1
        efficiencies = []
        with ExitStack() as running:
            pair = [create_backend(name, BackendOptions()) for name in (BASELINE, item.backend)]
            for backend in pair:
                running.enter_context(started_backend(backend, [], writer, probe_dispatch=True))
            for grain in (item.grain_s / STEP, item.grain_s * STEP):
                job = Job(item.tasks, grain, item.bytes_per_task)
                with started_environment(workload, job) as ready:
                    prepared = prepare_job(workload, ready)
                    records = in_turns(pair, prepared, chunk, args.repeats)
                serial, other = records[BASELINE], records[item.backend]
                slots = parallel_slots(other)
                efficiencies.append(median(serial.wall_s) / (median(other.wall_s) * slots))
        below, above = efficiencies
        holds = below < METG_EFFICIENCY <= above
        checked += 1
        confirmed += holds
        contradicted += not holds
        low, high = item.interval
        print(
            f"{item.workload}/{item.backend}: METG {format_seconds(item.grain_s)} "
            f"[{format_seconds(low) if low else 'below range'} - "
            f"{format_seconds(high) if high else 'not reached'}] at {item.tasks} tasks; "
            f"efficiency {below:.0%} at {format_seconds(item.grain_s / STEP)}, "
            f"{above:.0%} at {format_seconds(item.grain_s * STEP)}: "
            f"{'confirmed' if holds else 'CONTRADICTED'}  [{load()}]",
            flush=True,
        )
    met = verdict(
        "METG check",
        f"{confirmed} of {checked} reported METGs confirmed on both sides "
        f"(x{STEP:g} below and above), {contradicted} contradicted",
        "all confirmed",
        contradicted == 0 and checked > 0,
    )
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
