"""The fit of S, o, P_eff and B, checked against scripted costs (see tests/scripted_costs.py)."""

from __future__ import annotations

import dataclasses

import pytest

from dist_bench.backends import BackendOptions
from dist_bench.chunking import auto_chunk_size
from dist_bench.costmodel import CutoverAnalysis, JobShape, advise, analyse, collect_points
from dist_bench.measure import MeasureSettings, measure, prepare_job
from dist_bench.results import BackendRun, Record, Results
from dist_bench.workload import Job
from tests.scripted_costs import NOISE, REPEATS, SCRIPTS, WORKLOAD, make_scripted
from tests.test_analysis import record as make_record


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


def _chunked_records(name: str, chunks: tuple[int, ...]) -> list[Record]:
    """``name``'s scripted costs measured over grains and task counts, tasks sent ``chunk`` at a
    time for each chunk size given (records of different plans side by side)."""
    backend = make_scripted(name, BackendOptions())
    backend.start()
    records = []
    for chunk in chunks:
        settings = MeasureSettings(repeats=REPEATS, warmup=0, chunk=chunk)
        for tasks, grain in [(16, 0.001), (16, 0.004), (64, 0.002), (256, 0.001), (256, 0.004)]:
            prepared = prepare_job(WORKLOAD, Job(tasks, grain, 0))
            records.append(measure(backend, prepared, WORKLOAD.make_tasks(prepared.job), settings))
    return records


def test_the_fit_counts_dispatches_so_chunked_records_give_the_cost_of_one() -> None:
    script = SCRIPTS["dask"][0]
    records = _chunked_records("dask", (1, 8))
    assert {r.chunk for r in records} == {1, 8}
    fit = analyse(Results({}, [], records)).fit_for("scripted", "dask")
    assert fit is not None
    # o is per dispatch: a chunk of 8 tasks paid it once, as the scripted backend charged.
    assert fit.per_task_overhead_s == pytest.approx(script.per_task_overhead_s, rel=0.05)
    assert fit.effective_parallelism == pytest.approx(script.effective_parallelism, rel=0.05)
    assert fit.startup_s == pytest.approx(script.startup_s, rel=0.1)


def test_a_fit_charging_o_per_task_would_miss_chunked_records() -> None:
    """The same records fitted as if every task were a dispatch: o comes out far off (the
    model the dispatch count replaced), so the test above can fail."""
    records = [dataclasses.replace(r, chunk=1) for r in _chunked_records("dask", (8,))]
    fit = analyse(Results({}, [], records)).fit_for("scripted", "dask")
    assert fit is not None
    script = SCRIPTS["dask"][0]
    assert fit.per_task_overhead_s < 0.5 * script.per_task_overhead_s


def test_advise_predicts_a_chunked_job_four_times_beyond_the_measured_tasks() -> None:
    """Fitted on one-task dispatches up to 256 tasks; asked for 1024 tasks under --chunk auto,
    the prediction counts the chunks auto would send (the scripted answer, solved by hand)."""
    script = SCRIPTS["dask"][0]
    fitted = Results({}, [], _chunked_records("dask", (1,)))
    shape = JobShape(1024, 0.002, 0)
    (ranked,) = advise(fitted, shape).values()
    (prediction,) = ranked
    fit = analyse(fitted).fit_for("scripted", "dask")
    assert fit is not None
    # --chunk auto's size for this shape, from the fitted dispatch cost (the script's o).
    chunk = auto_chunk_size(fit.per_task_overhead_s, 0.002, script.workers, 1024)
    assert chunk > 1
    assert prediction.chunk == chunk
    expected = script.job_seconds(1024, 0.002, 0, -(-1024 // chunk))
    assert prediction.predicted_s == pytest.approx(expected, rel=0.05)
    assert prediction.extrapolated == ("tasks",)
    # One task per dispatch, as the records ran, costs 1024 dispatches instead.
    (one_by_one,) = advise(fitted, shape, chunk=1)["scripted"]
    assert one_by_one.predicted_s == pytest.approx(script.job_seconds(1024, 0.002, 0), rel=0.05)
    assert one_by_one.predicted_s > prediction.predicted_s + 0.5


def test_advise_sizes_auto_chunks_from_the_measured_dispatch_cost() -> None:
    fitted = Results({}, [BackendRun("dask", 1.0, dispatch_s=1e-2)], _chunked_records("dask", (1,)))
    (prediction,) = advise(fitted, JobShape(1024, 0.002, 0))["scripted"]
    assert prediction.chunk == auto_chunk_size(1e-2, 0.002, 2, 1024)


def test_a_points_grain_is_serials_time_per_unit_times_its_own_units() -> None:
    # Serial ran round 0 only, calibrated to 100 units a task (10 ms a task); processes ran
    # round 1 too, calibrated there to 200 units: each of its tasks carried twice the work.
    serial = make_record("serial", 0.1, 0.1, workers=1, units=100)
    processes = [
        make_record("processes", 0.06, 0.1, units=100),
        make_record("processes", 0.12, 0.2, units=200, round=1),
    ]
    points = collect_points(Results({}, [], [serial, *processes]))[("w", "processes")]
    assert [p.shape.grain_s for p in points] == pytest.approx([0.01, 0.02])
