"""The fit of S, o, P_eff and B, checked against scripted costs (see tests/scripted_costs.py)."""

from __future__ import annotations

import pytest

from dist_bench.backends import BackendOptions
from dist_bench.costmodel import CutoverAnalysis, analyse
from dist_bench.measure import MeasureSettings, measure, prepare_job
from dist_bench.results import Results
from dist_bench.workload import Job
from tests.scripted_costs import NOISE, SCRIPTS, WORKLOAD, make_scripted


@pytest.mark.parametrize("backend", ["processes", "dask"])
def test_fit_recovers_the_scripted_costs_within_5_percent(
    searched: tuple[Results, CutoverAnalysis], backend: str
) -> None:
    _, analysis = searched
    fit = analysis.fit_for("scripted", backend)
    script = SCRIPTS[backend][0]
    assert fit is not None
    assert fit.unidentified == ()
    assert fit.startup_s == pytest.approx(script.startup_s, rel=0.05)
    assert fit.per_task_overhead_s == pytest.approx(script.per_task_overhead_s, rel=0.05)
    assert fit.effective_parallelism == pytest.approx(script.effective_parallelism, rel=0.05)
    assert fit.bandwidth_bytes_per_s == pytest.approx(script.bandwidth_bytes_per_s, rel=0.05)
    # Held-out points are predicted about as well as the noise allows.
    assert fit.holdout_error is not None
    assert fit.holdout_error < 3 * NOISE


def test_unvaried_axes_leave_their_parameters_unidentified() -> None:
    backend = make_scripted("processes", BackendOptions())
    backend.start()
    settings = MeasureSettings(repeats=3, warmup=0)
    records = []
    for grain in (0.001, 0.004, 0.016):
        prepared = prepare_job(WORKLOAD, Job(16, grain, 0))
        tasks = WORKLOAD.make_tasks(prepared.job)
        records.append(measure(backend, prepared, tasks, settings))
    fit = analyse(Results({}, [], records)).fit_for("scripted", "processes")
    assert fit is not None
    # Tasks never varied (start-up cannot be told from dispatch); bytes never moved.
    assert "startup_s" in fit.unidentified
    assert "bandwidth_bytes_per_s" in fit.unidentified
    assert fit.bandwidth_bytes_per_s is None
    script = SCRIPTS["processes"][0]
    assert fit.effective_parallelism == pytest.approx(script.effective_parallelism, rel=0.1)
    # What it fitted still predicts the shapes it saw.
    assert fit.predict(16, 0.004, 0) == pytest.approx(script.job_seconds(16, 0.004, 0), rel=0.1)
