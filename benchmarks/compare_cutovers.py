"""compare on fresh default cutovers: two runs of the same code must not read as a regression.

Issue 16's own scenario, as a user meets it: two default ``dist-bench cutover`` runs minutes apart,
then ``dist-bench compare ONE TWO``. Given results files (FILES, in the order they ran: e.g.
``reproducibility.py -o DIR``'s ``DIR/run*/cutover.json``), each consecutive pair is compared as
``dist-bench compare`` does (the default threshold and false discovery rate); with ``--runs N``
N fresh default cutovers are run first (``cutover_run.fresh_cutovers``) and added after the
files. Each comparison prints whether it is a regression and why, and how far the two runs'
calibrations lie apart (the median ratio of their units per task at the shapes both measured,
per workload: a run calibrated apart measures other tasks, which its rounds cannot show).

Target: no regression in >= 95 % of the pairs (compare_accuracy.py's A/A target, 19 of 20).

Run: ``.venv/bin/python benchmarks/compare_cutovers.py [FILES ...] [--runs N] [-o DIR]``. Exits 1
when the target is missed. Recorded results: benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import sys
import tempfile
from pathlib import Path

from common import load, verdict
from cutover_run import fresh_cutovers
from dist_bench.compare import compare
from dist_bench.comparison import Comparison
from dist_bench.results import Results, load_results

#: Share of the compared pairs that must end without a regression.
TARGET_CLEAN = 0.95


def units_apart(before: Results, after: Results) -> dict[str, float]:
    """Per workload, the median ratio of AFTER's units per task to BEFORE's at shared shapes."""
    units = {r.size_key(): r.units for r in before.records if r.error is None}
    ratios: dict[str, list[float]] = {}
    for record in after.records:
        earlier = units.get(record.size_key())
        if earlier and record.error is None:
            ratios.setdefault(record.workload, []).append(record.units / earlier)
    return {workload: statistics.median(values) for workload, values in ratios.items()}


def describe(comparison: Comparison) -> str:
    """What made a comparison a regression, in a few words (empty when it is none)."""
    words = [f"{s.backend} x{s.ratio:.2f} as a whole" for s in comparison.slower_backends]
    words += [f"{w.workload} x{w.ratio:.2f} everywhere" for w in comparison.slower_workloads]
    words += [
        f"{p.key[0]} on {p.key[1]} x{p.ratio:.2f}"
        for p in comparison.regressions
        if p.ratio is not None
    ]
    return "; ".join(words)


def main() -> int:
    """Compare consecutive files (after running any fresh cutovers asked for); print verdicts."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="*", type=Path, help="cutover results, in run order")
    parser.add_argument("--runs", type=int, default=0, help="fresh default cutovers to add")
    parser.add_argument("-o", "--output", type=Path, help="folder for those runs (default: temp)")
    options = parser.parse_args()
    missing = [path for path in options.files if not path.is_file()]
    if missing:
        parser.error(f"no such results file: {missing[0]}")
    if len(options.files) + options.runs < 2:
        parser.error("two results files at least: give FILES, --runs N, or both")
    folder = options.output or Path(tempfile.mkdtemp(prefix="dist-bench-compare-cutovers-"))
    print(f"start: {load()}", flush=True)
    fresh = fresh_cutovers(folder, options.runs)
    if fresh is None:
        return 1
    paths = [*options.files, *fresh]
    clean = 0
    for earlier, later in itertools.pairwise(paths):
        before, after = load_results(earlier), load_results(later)
        comparison = compare(before, after)
        clean += not comparison.failed
        apart = ", ".join(f"{w} x{r:.2f}" for w, r in units_apart(before, after).items())
        verdict_words = f"REGRESSION: {describe(comparison)}" if comparison.failed else "clean"
        print(
            f"{earlier} -> {later}: {verdict_words}; {len(comparison.changed)} of "
            f"{len(comparison.tested)} tested pairs called changed; units apart: {apart}"
        )
    pairs = len(paths) - 1
    met = verdict(
        "fresh cutovers compared without a regression",
        f"{clean} of {pairs}",
        f">= {TARGET_CLEAN:.0%}",
        clean >= TARGET_CLEAN * pairs,
    )
    print(f"end: {load()}")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
