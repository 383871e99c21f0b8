"""Projections: labelled, under their Amdahl bound, from the nodes the results file counts."""

from __future__ import annotations

import dataclasses
import math

from dist_bench.costmodel import CostFit, CutoverAnalysis, JobShape, node_count, project
from dist_bench.results import Results
from dist_bench.units import AUTO


def test_projections_are_labelled_and_stay_under_their_amdahl_bound(
    searched: tuple[Results, CutoverAnalysis],
) -> None:
    _, analysis = searched
    projected = [p for p in analysis.projections if p.backend == "processes"]
    assert [p.nodes for p in projected] == [2, 4, 8]
    speedups = [p.predicted_speedup for p in projected]
    assert speedups == sorted(speedups)  # more nodes, more speedup...
    for projection in projected:
        assert projection.label == "projection"
        assert projection.amdahl_bound is not None
        assert projection.predicted_speedup <= projection.amdahl_bound + 1e-9  # ...never past it
    # Shared-memory backends cannot add nodes.
    assert not [p for p in analysis.projections if p.backend in ("serial", "threads")]


def test_nodes_are_counted_from_the_topology_in_the_results_file() -> None:
    dask_workers = [
        {"node": "scheduler tcp://10.0.0.1:8786"},
        {"node": "worker tcp://10.0.0.2:40001"},
        {"node": "worker tcp://10.0.0.2:40002"},
        {"node": "worker tcp://10.0.0.3:40001"},
    ]
    assert node_count({"nodes": 3}) == 3  # Ray reports its nodes
    assert node_count({"versions": {"nodes": dask_workers}}) == 2  # Dask: distinct worker hosts
    assert node_count({"workers": 2}) == 1  # anything local


def test_a_projection_counts_the_dispatches_of_the_chunk_plan_on_more_workers() -> None:
    """A fit of records sent with --chunk auto, projected to 4 nodes: auto chunks for 8 workers
    are capped at 1024 / (4 dispatches x 8 workers) = 32 tasks (the dispatch cost alone would
    want 300), so 32 dispatches pay o, not 1024 (solved by hand)."""
    fit = CostFit(
        "w", "dask", 0.02, 1.5e-3, 1.95, None, workers=2, points=6, chunk=AUTO, dispatch_s=1.5e-3
    )
    serial = CostFit("w", "serial", 0.0, 0.0, 1.0, None, workers=1, points=6)
    shape = JobShape(1024, 0.002, 0)
    (projection,) = project(fit, serial, shape, [4], measured_nodes=1)
    assert projection.workers == 8
    expected_s = 0.02 + 32 * 1.5e-3 + 1024 * 0.002 / (1.95 * 4)
    assert math.isclose(projection.predicted_s, expected_s, rel_tol=1e-9)
    # The same fit sending every task on its own pays o 1024 times.
    (one_by_one,) = project(dataclasses.replace(fit, chunk=1), serial, shape, [4])
    assert math.isclose(one_by_one.predicted_s, expected_s + (1024 - 32) * 1.5e-3, rel_tol=1e-9)
