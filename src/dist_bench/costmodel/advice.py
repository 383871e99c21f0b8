"""Advice: every fitted backend ranked by its predicted time for a job shape the user describes.

A prediction counts the dispatches the backend would make for that shape under the chunk plan
asked for: ``run``'s default is ``--chunk auto``, which sends a few large chunks where the fit's
records (a cutover's, one task per dispatch) paid the dispatch cost once per task.
"""

from __future__ import annotations

from dataclasses import dataclass

from dist_bench.backends.base import BASELINE
from dist_bench.costmodel.fit import fit_all
from dist_bench.costmodel.shapes import Axis, JobShape
from dist_bench.results import Results
from dist_bench.units import AUTO, ChunkMode


@dataclass(frozen=True)
class Prediction:
    """A backend's predicted time for a job shape the user describes, from its saved fit.

    Attributes:
        speedup: Serial's predicted time over this one (``None`` without a serial fit).
        extrapolated: Axes on which the shape lies outside what the fit measured.
        chunk: Tasks per dispatch the prediction assumed (the plan ``advise`` was given).
    """

    workload: str
    backend: str
    shape: JobShape
    predicted_s: float
    speedup: float | None
    extrapolated: tuple[Axis, ...]
    holdout_error: float | None
    chunk: int = 1


def advise(
    results: Results, shape: JobShape, chunk: ChunkMode = AUTO
) -> dict[str, list[Prediction]]:
    """Per workload, every fitted backend ranked by predicted time for ``shape``, fastest first.

    ``chunk`` is the plan the job would run with (``run``'s default, ``auto``, unless told).
    """
    ranked: dict[str, list[Prediction]] = {}
    fits = fit_all(results)
    job = (shape.tasks, shape.grain_s, shape.bytes_per_task)
    for (workload, backend), fit in fits.items():
        predicted = fit.predict(*job, chunk=chunk)
        baseline = fits.get((workload, BASELINE))
        serial_s = baseline.predict(*job, chunk=chunk) if baseline else None
        ranked.setdefault(workload, []).append(
            Prediction(
                workload=workload,
                backend=backend,
                shape=shape,
                predicted_s=predicted,
                speedup=serial_s / predicted if serial_s and predicted > 0 else None,
                extrapolated=tuple(fit.outside(shape)),
                holdout_error=fit.holdout_error,
                chunk=fit.chunk_size(shape.tasks, shape.grain_s, chunk),
            )
        )
    return {w: sorted(items, key=lambda p: p.predicted_s) for w, items in ranked.items()}
