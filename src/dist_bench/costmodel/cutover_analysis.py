"""The whole cutover analysis of a results file: every fit, crossover, METG, projection, warning."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import combinations
from typing import Any

import numpy as np

from dist_bench.backends.base import BASELINE
from dist_bench.costmodel.crossovers import Crossover, crossover
from dist_bench.costmodel.fit import CostFit, fit_all, refits
from dist_bench.costmodel.ladder import LadderStep, ladder
from dist_bench.costmodel.metg import Metg, metg_all
from dist_bench.costmodel.projection import Projection, node_count, project
from dist_bench.costmodel.resampling import resampled_times, round_draws, session_shifted
from dist_bench.costmodel.series import Series, find_series
from dist_bench.costmodel.shapes import collect_points
from dist_bench.costmodel.warnings import AnalysisWarning, find_warnings
from dist_bench.decisive import backend_drifts, planned_rounds
from dist_bench.results import Results
from dist_bench.scaling import Scaling, scaling_curves

#: Bootstrap refits per analysis: enough for two-digit interval ends; each refit is a tiny NNLS.
CROSSOVER_RESAMPLES = 200


@dataclass(frozen=True)
class CutoverAnalysis:
    """Everything the cutover reports, as data: the ``report`` package puts it in words.

    Attributes:
        fits: One per (workload, backend) with enough points.
        crossovers: One per (workload, backend pair, axis) that was swept.
        warnings: What makes a number shaky, each of a kind naming the flag to change.
        projections: Predicted speedups on more nodes (only when asked for).
        ladder: The article's steps up (``costmodel.ladder.LADDER``), each answered per workload.
        metgs: Each non-serial backend's METG(50 %) along its workload's grain series.
    """

    fits: list[CostFit] = field(default_factory=list)
    crossovers: list[Crossover] = field(default_factory=list)
    warnings: list[AnalysisWarning] = field(default_factory=list)
    projections: list[Projection] = field(default_factory=list)
    ladder: list[LadderStep] = field(default_factory=list)
    metgs: list[Metg] = field(default_factory=list)

    def fit_for(self, workload: str, backend: str) -> CostFit | None:
        """The fit of ``backend`` on ``workload``, if there is one."""
        for fit in self.fits:
            if fit.workload == workload and fit.backend == backend:
                return fit
        return None

    def ordered_crossovers(self) -> list[Crossover]:
        """Every crossover, most useful first: those reached, then the rest."""
        return [c for c in self.crossovers if c.reached] + [
            c for c in self.crossovers if not c.reached
        ]

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict of the whole analysis."""
        return {
            "fits": [fit.to_json() for fit in self.fits],
            "crossovers": [crossover.to_json() for crossover in self.crossovers],
            "warnings": [warning.to_json() for warning in self.warnings],
            "projections": [projection.to_json() for projection in self.projections],
            "ladder": [step.to_json() for step in self.ladder],
            "metgs": [item.to_json() for item in self.metgs],
        }


def analyse(
    results: Results,
    project_nodes: Sequence[int] = (),
    resamples: int = CROSSOVER_RESAMPLES,
    seed: int = 0,
    with_metg: bool = True,
) -> CutoverAnalysis:
    """Fit every (workload, backend), find every crossover and what makes any of it shaky.

    Computed from the records alone, so a saved file regenerates the same analysis (the bootstrap
    seed is fixed). ``project_nodes`` adds projections for backends that can use more nodes.
    ``with_metg=False`` leaves out the METGs, whose bootstrap is most of the analysis's time
    (the cutover's search, which looks only at crossovers, analyses after every backend).
    The model is of one interpreter's costs: the file's own (other ones' records, from
    ``run --python``, have their own speeds and serial runs).
    """
    results = results.of_runtime()
    topologies = {run.backend: run.topology for run in results.backends}
    grouped = collect_points(results)
    fits = fit_all(results)
    rng = np.random.default_rng(seed)
    # One draw of rounds for every backend: a round's measurements stay paired across backends.
    draws = round_draws(results, rng, resamples)
    drifts = backend_drifts(results)
    resampled = {
        (workload, backend): refits(
            points,
            session_shifted(resampled_times(points, draws, rng), drifts.of(backend, workload), rng),
        )
        for (workload, backend), points in grouped.items()
    }
    rounds = planned_rounds(results)
    analysis_crossovers: list[Crossover] = []
    workloads = list(dict.fromkeys(workload for workload, _ in grouped))
    series_of: dict[str, list[Series]] = {}
    for workload in workloads:
        backends = [b for w, b in grouped if w == workload]
        every_point = [p for b in backends for p in grouped[(workload, b)]]
        series_of[workload] = find_series(every_point)
        for series in series_of[workload]:
            for first, second in combinations(backends, 2):
                pair = list(
                    zip(resampled[(workload, first)], resampled[(workload, second)], strict=True)
                )
                measured = (grouped[(workload, first)], grouped[(workload, second)])
                analysis_crossovers.append(
                    crossover(
                        fits[(workload, first)],
                        fits[(workload, second)],
                        series,
                        pair,
                        measured=measured,
                        drifts=drifts,
                        rounds=rounds,
                    )
                )
    warnings = find_warnings(list(fits.values()), analysis_crossovers, results)
    projections: list[Projection] = []
    for (workload, backend), fit in fits.items():
        baseline = fits.get((workload, BASELINE))
        if not project_nodes or baseline is None or fit.shares_memory:
            continue
        shape = max(
            (p.shape for p in grouped[(workload, backend)]), key=lambda s: s.tasks * s.grain_s
        )
        nodes = node_count(topologies.get(backend, {}))
        projections.extend(project(fit, baseline, shape, project_nodes, nodes))
    return CutoverAnalysis(
        fits=list(fits.values()),
        crossovers=analysis_crossovers,
        warnings=warnings,
        projections=_with_track_record(projections, results),
        ladder=ladder(analysis_crossovers),
        metgs=metg_all(grouped, series_of, seed=seed, drifts=drifts) if with_metg else [],
    )


def _with_track_record(projections: list[Projection], results: Results) -> list[Projection]:
    """Each projection with the held-out error of a node sweep of its workload and backend."""
    checked = {
        (curve.workload, curve.backend): curve.held_out.error
        for curve in scaling_curves(results.records)
        if curve.scaling is Scaling.STRONG and curve.held_out is not None
    }
    return [
        dataclasses.replace(p, held_out_error=checked.get((p.workload, p.backend)))
        for p in projections
    ]
