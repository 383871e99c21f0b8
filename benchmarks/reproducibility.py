"""Do a fresh run's crossovers hold? N default cutovers compared, then one confirmed directly.

Targets (issue 10, "answers that hold"):

- of the distinct crossovers reported (as a point or bracketed; same workload, pair, winners and
  axis) by any of the N fresh default cutovers, at least 90 % are reported by all N;
- of those reported by all, at least 95 % have intervals that overlap in every run (the 95 %
  interval, or the measured bracket where only that locates it);
- one more fresh default cutover, its crossovers measured again on both sides
  (``confirm_crossovers.confirm``): at least 90 % of those checked confirmed, none contradicted.

Also printed, with no target: how many of the ladder's steps (``costmodel.ladder``: serial →
threads, asyncio, processes → Dask, Ray, per workload) the compared runs answer alike.

Every run is a fresh ``dist-bench cutover`` (as a user gets it), timed and its memory sampled
like ``cutover_run.py`` (3-minute target each). Run at normal priority and quote the load:
``.venv/bin/python benchmarks/reproducibility.py [--runs 2] [--repeats 7] [-o DIR]``.
Exits 1 when a target is missed. Recorded results: benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from common import load, verdict
from confirm_crossovers import confirm
from cutover_run import fresh_cutovers
from dist_bench.costmodel import Crossover, CrossoverKind, analyse
from dist_bench.report.axis_text import format_location
from dist_bench.results import load_results

#: Share of distinct crossovers every run must report.
TARGET_REPORTED_BY_ALL = 0.90
#: Share of those whose intervals overlap in every run.
TARGET_OVERLAPPING = 0.95
#: Share of a fresh run's checked crossovers a direct measurement must confirm.
TARGET_CONFIRMED = 0.90

Key = tuple[str, tuple[str, str], str]


def key(crossover: Crossover) -> Key:
    """What makes two runs' crossovers the same answer: workload, winners below/above, axis."""
    return (crossover.workload, (crossover.winner_below, crossover.winner_above), crossover.axis)


def span(crossover: Crossover) -> tuple[float, float]:
    """Where a reported crossover may lie: its interval, else its measured bracket."""
    if crossover.interval is not None and not crossover.bracketed_only:
        return crossover.interval.low, crossover.interval.high
    below, above = crossover.evidence_below, crossover.evidence_above
    if below is not None and above is not None:
        return below.value, above.value
    value = crossover.value or 0.0
    return value, value


def reported(path: Path) -> dict[Key, Crossover]:
    """The crossovers a results file reports as points or brackets."""
    return {key(c): c for c in analyse(load_results(path)).crossovers if c.reached}


def ladder_answers(path: Path) -> dict[tuple[str, str, str], str]:
    """Each ladder step's answer in a results file: (workload, lower, upper) -> its words."""
    return {
        (s.workload, s.lower, s.upper): s.answer.value for s in analyse(load_results(path)).ladder
    }


def same_ladder(runs: Sequence[dict[tuple[str, str, str], str]]) -> tuple[int, int]:
    """(ladder steps any run answered, of those answered alike by every run); prints the rest."""
    steps = list(dict.fromkeys(step for run in runs for step in run))
    alike = 0
    for step in steps:
        answers = [run.get(step, "not measured") for run in runs]
        if len(set(answers)) == 1:
            alike += 1
        else:
            print(f"ladder {step[0]} {step[1]} → {step[2]}: " + " | ".join(answers))
    return len(steps), alike


def compare_runs(runs: Sequence[dict[Key, Crossover]]) -> tuple[int, int, int]:
    """(distinct crossovers, reported by all runs, of those overlapping in all); prints each."""
    distinct = list(dict.fromkeys(k for run in runs for k in run))
    by_all = overlapping = 0
    for item in distinct:
        found = [run[item] for run in runs if item in run]
        where = " | ".join(format_location(c) for c in found)
        line = f"{item[0]} {' → '.join(item[1])} along {item[2]}: {where}"
        if len(found) < len(runs):
            print(f"{line} -> reported by {len(found)} of {len(runs)} runs")
            continue
        by_all += 1
        spans = [span(c) for c in found]
        overlap = max(low for low, _ in spans) <= min(high for _, high in spans)
        overlapping += overlap
        print(f"{line} -> all runs, {'overlapping' if overlap else 'DISJOINT'}")
    return len(distinct), by_all, overlapping


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=2, help="fresh default cutovers to compare")
    parser.add_argument("--repeats", type=int, default=7, help="repeats of each direct check")
    parser.add_argument("-o", "--output", type=Path, help="folder for the runs (default: temp)")
    options = parser.parse_args()
    if options.runs < 2:
        parser.error("--runs must be at least 2")
    folder = options.output or Path(tempfile.mkdtemp(prefix="dist-bench-reproducibility-"))
    print(f"start: {load()}")
    paths = fresh_cutovers(folder, options.runs + 1)
    if paths is None:
        return 1
    compared, fresh = paths[:-1], paths[-1]
    runs = [reported(path) for path in compared]
    for path in compared:
        kinds = [c.kind for c in analyse(load_results(path)).crossovers]
        print(
            f"{path}: {sum(k is CrossoverKind.ABOUT_EQUAL for k in kinds)} about equal, "
            f"{sum(k is CrossoverKind.UNSHOWN for k in kinds)} model only (neither reported)"
        )
    distinct, by_all, overlapping = compare_runs(runs)
    # No target: the ladder's answers (pays from, throughout, never, level, about equal,
    # unclear) are what a user reads first, so how often runs agree on them is worth seeing.
    steps, alike = same_ladder([ladder_answers(path) for path in compared])
    print(f"ladder steps answered alike by all {options.runs} runs: {alike} of {steps}")
    print(f"confirming the crossovers of a fresh run: {fresh}")
    tally = confirm(fresh, options.repeats)
    results = [
        verdict(
            f"crossovers reported by all {options.runs} runs",
            f"{by_all} of {distinct} ({by_all / max(1, distinct):.0%})",
            f">= {TARGET_REPORTED_BY_ALL:.0%}",
            distinct > 0 and by_all >= TARGET_REPORTED_BY_ALL * distinct,
        ),
        verdict(
            "of those, intervals overlapping in every run",
            f"{overlapping} of {by_all} ({overlapping / max(1, by_all):.0%})",
            f">= {TARGET_OVERLAPPING:.0%}",
            by_all > 0 and overlapping >= TARGET_OVERLAPPING * by_all,
        ),
        verdict(
            "a fresh run's crossovers confirmed directly",
            f"{tally.confirmed} of {tally.checked} ({tally.confirmed / max(1, tally.checked):.0%}"
            f"), {tally.contradicted} contradicted, {tally.unclear} not clear",
            f">= {TARGET_CONFIRMED:.0%} confirmed, 0 contradicted",
            tally.checked > 0
            and tally.confirmed >= TARGET_CONFIRMED * tally.checked
            and tally.contradicted == 0,
        ),
    ]
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
