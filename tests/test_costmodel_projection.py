"""Projections: labelled, under their Amdahl bound, from the nodes the results file counts."""

from __future__ import annotations

from dist_bench.costmodel import CutoverAnalysis, node_count
from dist_bench.results import Results


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
