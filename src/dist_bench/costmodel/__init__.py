"""The cost model: each backend's costs fitted from measurements, crossovers, projections, advice.

For a job of n tasks, each of g seconds of serial work and b bytes moved, a backend takes about

    T ≈ S + d·o + n·g / P_eff + n·b / B

with d its dispatches (n, or fewer when tasks travel in chunks). S is the fixed cost of a job
(``startup_s``: submitting, gathering, waking workers), o the cost of one dispatch
(``per_task_overhead_s``), P_eff the useful parallelism
(``effective_parallelism``: 1 for pure-Python code on threads, about the cores for processes) and
B the bandwidth of moving task data (``bandwidth_bytes_per_s``).

One concept per module, each depending only on those before it:

- ``shapes``: job shapes, the three axes, records reduced to points;
- ``fit``: the NNLS fit of one backend's costs, its held-out error;
- ``series``: lines of records along one axis, and what to run to extend one;
- ``evidence``: the measured shapes where one backend was decisively faster;
- ``reasons``: the cost that decides a crossover (``Reason``);
- ``crossovers``: where two fits meet along a series, shown by the measurements, and why;
- ``resampling``: the bootstrap over rounds and samples behind crossover intervals;
- ``ladder``: the article's steps up (serial → threads/asyncio → processes → Dask/Ray) answered;
- ``projection``: predicted speedups on more nodes (never measured);
- ``metg``: METG(50 %), the smallest grain a backend runs at 50 % efficiency (Task Bench);
- ``advice``: backends ranked for a job shape the user describes;
- ``warnings``: what makes a number shaky, as typed data (one class per kind, imported from
  ``dist_bench.costmodel.warnings``);
- ``cutover_analysis``: all of it for a results file (``analyse``).

Everything is computed from a results file's records, so any report regenerates from the JSON
without rerunning; the words are the job of ``report``'s ``*_sentences`` modules.
"""

from __future__ import annotations

from dist_bench.costmodel.advice import Prediction, advise
from dist_bench.costmodel.crossovers import CONFIDENCE, Crossover, CrossoverKind, crossover
from dist_bench.costmodel.cutover_analysis import CROSSOVER_RESAMPLES, CutoverAnalysis, analyse
from dist_bench.costmodel.evidence import Evidence
from dist_bench.costmodel.fit import POOR_FIT_ERROR, CostFit, fit_all, fit_costs
from dist_bench.costmodel.ladder import LADDER, LadderStep, StepAnswer
from dist_bench.costmodel.metg import METG_EFFICIENCY, EfficiencyPoint, Metg, MetgKind, metg
from dist_bench.costmodel.projection import Projection, node_count, project
from dist_bench.costmodel.reasons import Reason
from dist_bench.costmodel.series import Series, find_series, shape_to_ask
from dist_bench.costmodel.shapes import AXES, AXIS_NAMES, Axis, JobShape, Point, collect_points
from dist_bench.costmodel.warnings import WIDE_INTERVAL, AnalysisWarning, BudgetRanOut, WarningKind
from dist_bench.decisive import PRACTICAL_MARGIN

__all__ = [
    "AXES",
    "AXIS_NAMES",
    "CONFIDENCE",
    "CROSSOVER_RESAMPLES",
    "LADDER",
    "METG_EFFICIENCY",
    "POOR_FIT_ERROR",
    "PRACTICAL_MARGIN",
    "WIDE_INTERVAL",
    "AnalysisWarning",
    "Axis",
    "BudgetRanOut",
    "CostFit",
    "Crossover",
    "CrossoverKind",
    "CutoverAnalysis",
    "EfficiencyPoint",
    "Evidence",
    "JobShape",
    "LadderStep",
    "Metg",
    "MetgKind",
    "Point",
    "Prediction",
    "Projection",
    "Reason",
    "Series",
    "StepAnswer",
    "WarningKind",
    "advise",
    "analyse",
    "collect_points",
    "crossover",
    "find_series",
    "fit_all",
    "fit_costs",
    "metg",
    "node_count",
    "project",
    "shape_to_ask",
]
