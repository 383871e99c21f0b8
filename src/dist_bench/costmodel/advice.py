"""Advice: every fitted backend ranked by its predicted time for a job shape the user describes."""

from __future__ import annotations

from dataclasses import dataclass

from dist_bench.backends.base import BASELINE
from dist_bench.costmodel.fit import fit_all
from dist_bench.costmodel.shapes import Axis, JobShape
from dist_bench.results import Results


@dataclass(frozen=True)
class Prediction:
    """A backend's predicted time for a job shape the user describes, from its saved fit.

    Attributes:
        speedup: Serial's predicted time over this one (``None`` without a serial fit).
        extrapolated: Axes on which the shape lies outside what the fit measured.
    """

    workload: str
    backend: str
    shape: JobShape
    predicted_s: float
    speedup: float | None
    extrapolated: tuple[Axis, ...]
    holdout_error: float | None


def advise(results: Results, shape: JobShape) -> dict[str, list[Prediction]]:
    """Per workload, every fitted backend ranked by predicted time for ``shape``, fastest first."""
    ranked: dict[str, list[Prediction]] = {}
    fits = fit_all(results)
    for (workload, backend), fit in fits.items():
        predicted = fit.predict(shape.tasks, shape.grain_s, shape.bytes_per_task)
        baseline = fits.get((workload, BASELINE))
        serial_s = (
            baseline.predict(shape.tasks, shape.grain_s, shape.bytes_per_task) if baseline else None
        )
        ranked.setdefault(workload, []).append(
            Prediction(
                workload=workload,
                backend=backend,
                shape=shape,
                predicted_s=predicted,
                speedup=serial_s / predicted if serial_s and predicted > 0 else None,
                extrapolated=tuple(fit.outside(shape)),
                holdout_error=fit.holdout_error,
            )
        )
    return {w: sorted(items, key=lambda p: p.predicted_s) for w, items in ranked.items()}
