"""Coarse pure-Python CPU work: parallel efficiency per core on the processes backend.

Target: ``--tasks`` (8 per core by default) tasks of ``--grain`` (100 ms) of the built-in ``cpu``
workload (pure-Python Monte Carlo) run on the processes backend, one worker per core, at a
speedup over serial of at least 0.9 per core (efficiency >= 0.9). Serial and processes jobs
alternate, so a change in the machine's load hits both alike.

Run: ``.venv/bin/python benchmarks/cpu_efficiency.py`` (options: ``--tasks``, ``--grain``,
``--rounds``). Exits 1 when the target is missed. Recorded results: benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import sys

from common import load, median, run_jobs, verdict
from dist_bench.backends import BackendOptions, create_backend
from dist_bench.cores import default_cores
from dist_bench.measure import prepare_job
from dist_bench.units import AUTO, parse_duration
from dist_bench.workload import Job, builtin_workloads

#: Speedup per core the processes backend must reach.
TARGET_EFFICIENCY = 0.9


def main() -> int:
    """Alternate serial and processes jobs; print the efficiency per core."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=8 * default_cores())
    parser.add_argument("--grain", type=parse_duration, default=0.1)
    parser.add_argument("--rounds", type=int, default=5)
    options = parser.parse_args()
    cores = default_cores()
    print(f"calibrating {options.tasks} cpu tasks of {options.grain * 1e3:g} ms  [{load()}]")
    job = Job(tasks=options.tasks, grain_s=options.grain, bytes_per_task=0)
    prepared = prepare_job(builtin_workloads()["cpu"], job)
    serial = create_backend("serial")
    processes = create_backend("processes", BackendOptions(workers=cores))
    processes.start()
    try:
        serial_walls, parallel_walls = [], []
        for round_index in range(options.rounds + 1):  # the first round warms up
            serial_wall = run_jobs(serial, prepared, AUTO).wall_s[0]
            parallel_wall = run_jobs(processes, prepared, AUTO).wall_s[0]
            if round_index:
                serial_walls.append(serial_wall)
                parallel_walls.append(parallel_wall)
    finally:
        processes.shutdown()
    speedup = median(serial_walls) / median(parallel_walls)
    efficiency = speedup / cores
    figure = (
        f"serial {median(serial_walls):.2f} s, processes ({cores}) {median(parallel_walls):.2f} s: "
        f"speedup {speedup:.2f}x, efficiency {efficiency:.2f} per core"
    )
    met = verdict(
        "cpu on processes", figure, f">= {TARGET_EFFICIENCY}", efficiency >= TARGET_EFFICIENCY
    )
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
