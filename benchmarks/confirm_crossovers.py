"""Confirm each crossover a cutover run reported by direct runs on both sides of it.

Target: for every crossover ``dist-bench cutover`` reports (reached, with an interval), a direct
measurement of both backends at a shape below the interval and at one above it shows the winner the
report names on each side, with the two medians' intervals apart. It is contradicted where the
other backend is clearly faster (intervals apart, the wrong way round); otherwise it is "not
clear". A crossover whose interval reaches the end of the searched range cannot be stepped past;
it is listed as "open", not counted; one located only between its two evidence points
(``Crossover.bracketed_only``) is checked beyond those.

A reported crossover is already shown by the run's own records (``Crossover.evidence_below`` and
``evidence_above``, between which its interval is kept); this re-measures afresh, outside that
interval. Crossovers the model alone claimed (``Crossover.unshown``) are not reported and not
checked; the summary counts them.

Run: ``.venv/bin/python benchmarks/confirm_crossovers.py results/cutover.json [--repeats 7]``.
The two backends of a crossover run side by side, taking turns job by job, so a change in the
machine's load cannot favour one; prints one line per crossover and a summary, and exits 1 when a
confirmable crossover is contradicted. Recorded results:
benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

from dist_bench.backend_session import measure_prepared, started_backend
from dist_bench.backends import BackendOptions, create_backend
from dist_bench.costmodel import Crossover, analyse, shape_to_ask
from dist_bench.measure import MeasureSettings, PreparedJob, prepare_job
from dist_bench.report.axis_text import format_axis, format_interval, format_location
from dist_bench.results import Record, Results, load_results
from dist_bench.results_writer import ResultsWriter
from dist_bench.stats import median, median_interval
from dist_bench.units import format_seconds
from dist_bench.workload import Job, Workload, resolve_workloads, started_environment

#: How far outside the crossover's interval the two check points lie (x below, x above).
STEP = 2.0


Shape = tuple[int, float, int]


def shape_of(job: Job) -> Shape:
    """A job's size as a hashable key."""
    return (job.tasks, job.grain_s, job.bytes_per_task)


@dataclass(frozen=True)
class Check:
    """One crossover and the two shapes that test it."""

    crossover: Crossover
    below: Job
    above: Job


def side_jobs(results: Results, crossover: Crossover) -> tuple[Job, Job] | None:
    """Shapes beyond each end of the interval, inside the searched range; None if open-ended.

    A crossover located only between its evidence points (``Crossover.bracketed_only``) is
    checked beyond those: they are measured shapes, so a range end is no bar there.
    """
    interval = crossover.interval
    low, high = crossover.searched
    below_evidence, above_evidence = crossover.evidence_below, crossover.evidence_above
    if crossover.bracketed_only and below_evidence is not None and above_evidence is not None:
        ends = (below_evidence.value, above_evidence.value)
    elif interval is None or interval.low <= low or interval.high >= high:
        return None
    else:
        ends = (interval.low, interval.high)
    below = max(low, ends[0] / STEP)
    above = min(high, ends[1] * STEP)
    # The other axes as the series asked for them; a measured grain turned into the one to ask.
    shapes = [shape_to_ask(results, crossover, value) for value in (below, above)]
    jobs = [Job(s.tasks, float(f"{s.grain_s:.3g}"), s.bytes_per_task) for s in shapes]
    return jobs[0], jobs[1]


@dataclass(frozen=True)
class Tally:
    """How the crossovers of one run fared when measured again."""

    confirmed: int
    unclear: int
    contradicted: int
    open_ended: int
    unshown: int

    @property
    def checked(self) -> int:
        """Crossovers measured again on both sides."""
        return self.confirmed + self.unclear + self.contradicted


def confirm(path: Path, repeats: int) -> Tally:
    """Measure both sides of every crossover ``path`` reports; print a line per crossover."""
    results = load_results(path)
    analysis = analyse(results)
    checks: list[Check] = []
    open_ended: list[Crossover] = []
    unshown = sum(1 for crossover in analysis.crossovers if crossover.unshown)
    for crossover in analysis.crossovers:
        if not crossover.reached:
            continue
        sides = side_jobs(results, crossover)
        if sides is None:
            open_ended.append(crossover)
        else:
            checks.append(Check(crossover, *sides))
    workloads: dict[str, Workload] = {
        w.name: w for w in resolve_workloads(sorted({c.crossover.workload for c in checks}))
    }
    by_pair: dict[tuple[str, str], list[Check]] = defaultdict(list)
    for check in checks:
        by_pair[check.crossover.backends].append(check)
    prepared: dict[tuple[str, Shape], PreparedJob] = {}
    measured: dict[tuple[str, str, Shape], Record] = {}
    writer = ResultsWriter(None, {})
    warm = MeasureSettings(repeats=1, warmup=1)
    once = MeasureSettings(repeats=1, warmup=0)
    for pair, pair_checks in by_pair.items():
        with ExitStack() as running_backends:
            backends = [create_backend(name, BackendOptions()) for name in pair]
            for backend in backends:
                running_backends.enter_context(started_backend(backend, [], writer))
            for check in pair_checks:
                workload = workloads[check.crossover.workload]
                for job in (check.below, check.above):
                    key = (workload.name, shape_of(job))
                    if key not in prepared:
                        with started_environment(workload, job) as environment:
                            prepared[key] = prepare_job(workload, environment)
                    # The two backends take turns, job by job, so both see the same moments of
                    # the machine: a load change cannot favour the one measured first.
                    for backend in backends:
                        measured[(backend.name, *key)] = measure_prepared(
                            backend, prepared[key], warm
                        )
                    for _ in range(repeats - 1):
                        for backend in backends:
                            more = measure_prepared(backend, prepared[key], once)
                            measured[(backend.name, *key)].wall_s.extend(more.wall_s)

    contradicted = confirmed = unclear = 0
    for check in checks:
        crossover = check.crossover
        verdicts = []
        for job, expected in (
            (check.below, crossover.winner_below),
            (check.above, crossover.winner_above),
        ):
            a, b = (
                measured[(name, crossover.workload, shape_of(job))] for name in crossover.backends
            )
            faster = a if median(a.wall_s) <= median(b.wall_s) else b
            slower = b if faster is a else a
            apart = median_interval(faster.wall_s).high < median_interval(slower.wall_s).low
            value = format_axis(crossover.axis, float(getattr(job, crossover.axis)))
            if crossover.axis == "grain_s":
                # The job asks for this grain; the crossover's grains are measured ones.
                value = f"a grain asked as {value}"
            verdicts.append(
                (
                    faster.backend == expected,
                    apart,
                    f"at {value}: {faster.backend} {format_seconds(median(faster.wall_s))} vs "
                    f"{slower.backend} {format_seconds(median(slower.wall_s))} "
                    f"({'intervals apart' if apart else 'intervals overlap'})",
                )
            )
        # Contradicted only where the other backend is clearly faster: a reversed order
        # whose medians' intervals overlap is a tie at that shape, not evidence against.
        if all(right and apart for right, apart, _ in verdicts):
            verdict, confirmed = "CONFIRMED", confirmed + 1
        elif any(apart and not right for right, apart, _ in verdicts):
            verdict, contradicted = "CONTRADICTED", contradicted + 1
        else:
            verdict, unclear = "not clear: the medians' intervals overlap", unclear + 1
        print(
            f"{crossover.workload} {'/'.join(crossover.backends)} along {crossover.axis}: "
            f"crossover {format_location(crossover)}; "
            + "; ".join(v[2] for v in verdicts)
            + f" -> {verdict}"
        )
    for crossover in open_ended:
        print(
            f"{crossover.workload} {'/'.join(crossover.backends)} along {crossover.axis}: "
            f"crossover {format_axis(crossover.axis, crossover.value or 0.0)} "
            f"({format_interval(crossover)}) -> open (interval reaches the searched range's end)"
        )
    print(
        f"{len(checks)} checked: {confirmed} confirmed, {unclear} not clear (intervals overlap), "
        f"{contradicted} contradicted; {len(open_ended)} open-ended not checked; {unshown} "
        "claimed by the model alone (not shown by the run's measurements, not reported)"
    )
    return Tally(confirmed, unclear, contradicted, len(open_ended), unshown)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", type=Path, help="a results file written by 'dist-bench cutover'")
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    return 1 if confirm(args.results, args.repeats).contradicted else 0


if __name__ == "__main__":
    sys.exit(main())
