"""Projections: a backend's PREDICTED speedup on more nodes, from its fit; never a measurement."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from dist_bench.costmodel.fit import CostFit
from dist_bench.costmodel.shapes import JobShape


@dataclass(frozen=True)
class Projection:
    """A PROJECTION, never a measurement: one backend's predicted speedup on more nodes.

    From the cost fit measured on ``measured_nodes`` nodes, the tasks' work spreads over the
    nodes at the measured efficiency (P_eff grows with them, up to one task per slot) while
    start-up, dispatch (one driver does it, per dispatch of the backend's chunk plan) and moving
    bytes (through the driver) stay as they were. ``amdahl_bound`` is Amdahl's law for the same
    job: the speedup if the work spread perfectly over all ``workers`` and only that fixed part
    stayed serial; ``serial_fraction`` is the fixed part's share of a one-worker run.
    """

    workload: str
    backend: str
    nodes: int
    measured_nodes: int
    workers: int
    shape: JobShape
    predicted_s: float
    predicted_speedup: float
    amdahl_bound: float | None
    serial_fraction: float | None
    label: str = "projection"
    #: How far projecting missed on this cluster: a node sweep's held-out error for the same
    #: workload and backend in the same file (strong scaling), None when it holds none.
    held_out_error: float | None = None

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {**{k: v for k, v in vars(self).items() if k != "shape"}, "shape": vars(self.shape)}


def project(
    fit: CostFit,
    baseline: CostFit,
    shape: JobShape,
    nodes: Sequence[int],
    measured_nodes: int = 1,
) -> list[Projection]:
    """PROJECTED speedups of ``fit`` on more nodes at ``shape`` (see ``Projection``)."""
    serial_s = baseline.predict(shape.tasks, shape.grain_s, shape.bytes_per_task)
    # What no number of workers shortens: start-up, dispatch from the one driver, moving bytes;
    # dispatches counted with the plan the job itself gets (an auto chunk is sized by the grain).
    chunk = fit.chunk_size(shape.tasks, shape.grain_s)
    fixed_s = fit.predict(shape.tasks, 0.0, shape.bytes_per_task, chunk=chunk)
    fraction = fixed_s / (fixed_s + serial_s) if fixed_s + serial_s > 0 else None
    projections = []
    for count in nodes:
        scale = count / measured_nodes
        workers = max(1, round(fit.workers * scale))
        # More nodes multiply the useful parallelism (never beyond one task per slot); an auto
        # chunk plan then cuts the job into more, smaller chunks, to keep every worker busy.
        scaled = replace(
            fit,
            effective_parallelism=min(fit.effective_parallelism * scale, float(shape.tasks)),
            workers=workers,
        )
        predicted = scaled.predict(shape.tasks, shape.grain_s, shape.bytes_per_task)
        projections.append(
            Projection(
                workload=fit.workload,
                backend=fit.backend,
                nodes=count,
                measured_nodes=measured_nodes,
                workers=workers,
                shape=shape,
                predicted_s=predicted,
                predicted_speedup=serial_s / predicted,
                amdahl_bound=serial_s / (fixed_s + serial_s / min(workers, shape.tasks)),
                serial_fraction=fraction,
            )
        )
    return projections


def node_count(topology: dict[str, Any]) -> int:
    """Machines a backend's workers ran on, from its topology in the results file.

    Ray reports its nodes; a remote Dask cluster's version check lists each worker, whose hosts
    are counted; anything else ran on this one machine.
    """
    if isinstance(topology.get("nodes"), int) and topology["nodes"] > 0:
        return int(topology["nodes"])
    listed = (topology.get("versions") or {}).get("nodes") or []
    hosts = {
        str(node.get("node", "")).split("://")[-1].rsplit(":", 1)[0]
        for node in listed
        if str(node.get("node", "")).startswith("worker ")
    }
    return max(1, len(hosts))
