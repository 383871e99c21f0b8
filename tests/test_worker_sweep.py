"""Worker-count sweeps on local backends (``run -w 1,2``, ``--weak``): one start per count, and
Gustafson's law fitted through a weak sweep with the fit node sweeps use (``scaling.fit_law``)."""

from __future__ import annotations

import csv
import io

import pytest

from dist_bench.analysis import summarize
from dist_bench.backends import BackendOptions
from dist_bench.backends.base import BASELINE, Backend
from dist_bench.backends.scripted import SCRIPTED_WORKLOAD, CostScript, scripted_backend
from dist_bench.errors import UsageError
from dist_bench.measure import MeasureSettings
from dist_bench.report import EXPORTERS
from dist_bench.report.content import ReportData
from dist_bench.report.table import results_tables
from dist_bench.report.workers_panel import scaling_points
from dist_bench.results import Results
from dist_bench.results_writer import ResultsWriter
from dist_bench.scaling import Law, ScaleAxis, Scaling, scaling_curves
from dist_bench.sweep import BackendFactory, run_sweep
from dist_bench.sweep_plan import SizeGrid, SweepPlan

GRAIN_S = 0.01
TASKS_PER_WORKER = 4


def gustafson_backend(serial_fraction: float) -> tuple[list[int | None], BackendFactory]:
    """A factory of scripted backends whose parallelism on p workers is p − α (p − 1).

    A job of n·p tasks then takes n·g·p / (p − α (p − 1)): the scaled speedup p·T(1)/T(p) is
    exactly Gustafson's law with serial fraction α. Returns the worker counts asked, and it.
    """
    asked: list[int | None] = []

    def make(name: str, options: BackendOptions) -> Backend:
        asked.append(options.workers if name != BASELINE else None)
        if name == BASELINE:
            return scripted_backend(name, CostScript(workers=1), shares_memory=True)(options)
        workers = options.workers or 1
        parallelism = workers - serial_fraction * (workers - 1)
        script = CostScript(effective_parallelism=parallelism, workers=workers)
        return scripted_backend(name, script)(options)

    return asked, make


def weak_sweep(serial_fraction: float, counts: tuple[int, ...] = (1, 2, 4)) -> Results:
    _, make = gustafson_backend(serial_fraction)
    plan = SweepPlan(
        workloads=[SCRIPTED_WORKLOAD],
        backends=["processes"],
        sizes=SizeGrid(tasks=[TASKS_PER_WORKER], grain_s=[GRAIN_S]),
        settings=MeasureSettings(repeats=3, warmup=0),
        chunks=(1,),
        worker_counts=counts,
        weak=True,
    )
    return run_sweep(plan, ResultsWriter(None, {}), make_backend=make)


@pytest.mark.parametrize("serial_fraction", [0.0, 0.15, 0.5])
def test_a_known_serial_fraction_gives_back_its_gustafson_fit(serial_fraction: float) -> None:
    (curve,) = scaling_curves(weak_sweep(serial_fraction).records)
    assert (curve.backend, curve.scaling, curve.axis) == (
        "processes",
        Scaling.WEAK,
        ScaleAxis.WORKERS,
    )
    assert [p.size for p in curve.points] == [1, 2, 4]
    assert [p.tasks for p in curve.points] == [TASKS_PER_WORKER * w for w in (1, 2, 4)]
    assert curve.fit is not None and curve.fit.law is Law.GUSTAFSON
    assert curve.fit.serial_fraction == pytest.approx(serial_fraction, abs=1e-6)
    # Three sizes: fitted on 1 and 2 workers, the check predicts 4 exactly.
    assert curve.held_out is not None and curve.held_out.error == pytest.approx(0.0, abs=1e-6)


def test_serial_runs_every_counts_job_and_only_the_swept_records_are_weak() -> None:
    records = weak_sweep(0.2).records
    serial = [r for r in records if r.backend == BASELINE]
    assert sorted(r.tasks for r in serial) == [TASKS_PER_WORKER * w for w in (1, 2, 4)]
    assert all(r.scaling is None for r in serial)
    swept = [r for r in records if r.backend != BASELINE]
    assert sorted((r.workers, r.tasks) for r in swept) == [
        (w, TASKS_PER_WORKER * w) for w in (1, 2, 4)
    ]
    assert all(r.scaling == "weak" and r.nodes is None and r.verified for r in swept)


def test_a_strong_sweep_starts_each_backend_once_per_count_on_the_same_job() -> None:
    asked, make = gustafson_backend(0.3)
    plan = SweepPlan(
        workloads=[SCRIPTED_WORKLOAD],
        backends=["processes"],
        sizes=SizeGrid(tasks=[8], grain_s=[GRAIN_S]),
        settings=MeasureSettings(repeats=2, warmup=0),
        chunks=(1,),
        worker_counts=(2, 1),
        rounds=2,
    )
    results = run_sweep(plan, ResultsWriter(None, {}), make_backend=make)
    assert asked == [None, 2, 1]  # built once each, started once per round
    assert len(results.backends) == 2 * len(asked)
    swept = [r for r in results.records if r.backend != BASELINE]
    assert sorted((r.round, r.workers) for r in swept) == [(0, 1), (0, 2), (1, 1), (1, 2)]
    assert {r.tasks for r in results.records} == {8}
    # No scaling: a strong worker sweep is Amdahl's, fitted where the plots draw it.
    assert all(r.scaling is None for r in results.records)
    assert scaling_curves(results.records) == []


def test_the_estimate_counts_each_counts_own_job() -> None:
    plan = SweepPlan(
        workloads=[SCRIPTED_WORKLOAD],
        backends=["processes"],
        sizes=SizeGrid(tasks=[4], grain_s=[0.5]),
        settings=MeasureSettings(repeats=1, warmup=0),
        chunks=(1,),
        worker_counts=(1, 3),
        weak=True,
    )
    estimate = plan.estimate()
    # The reference and serial run 4 and 12 tasks; processes 4 on 1 worker, 12 on 3.
    assert estimate.reference_s == pytest.approx((4 + 12) * 0.5)
    assert estimate.total_s == pytest.approx(3 * (4 + 12) * 0.5)


@pytest.mark.parametrize(
    ("settings", "fragment"),
    [
        ({"worker_counts": (2,), "weak": True}, "at least 2 worker counts"),
        ({"weak": True}, "at least 2 worker counts"),
        ({"worker_counts": (1, 1)}, "each worker count once"),
        ({"worker_counts": (1, 2), "weak": True, "sizes": SizeGrid(tasks=[4, 8])}, "one --tasks"),
        ({"worker_counts": (1, 2), "weak": True, "backends": [BASELINE]}, "besides serial"),
    ],
)
def test_a_sweep_that_cannot_make_a_curve_is_refused(
    settings: dict[str, object], fragment: str
) -> None:
    full: dict[str, object] = {"workloads": [SCRIPTED_WORKLOAD], "backends": ["processes"]}
    with pytest.raises(UsageError, match=fragment):
        SweepPlan(**{**full, **settings})  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def weak() -> Results:
    return weak_sweep(0.25)


@pytest.mark.parametrize("name", ["md", "html"])
def test_the_text_reports_show_the_weak_sweep_its_gustafson_fit_and_check(
    weak: Results, name: str
) -> None:
    text = EXPORTERS[name].load()(ReportData(weak)).decode()
    assert "Scaling over workers" in text and "Scaling over nodes" not in text
    assert "scripted on processes: weak scaling over workers" in text
    assert "law fits a serial fraction of 0.250" in text  # Gustafson's (an apostrophe in HTML)
    assert "Fitted without 4 workers, it predicted" in text
    # One machine: no node slice column, and more nodes are not projected from it.
    assert "| slice |" not in text and ">slice</th>" not in text
    assert "Projected speedups on more nodes" not in text


def test_the_terminal_shows_the_weak_sweep_table(weak: Results) -> None:
    from rich.console import Console

    console = Console(width=160, record=True)
    console.print(results_tables(ReportData(weak)))
    text = console.export_text()
    assert "scripted on processes: weak scaling over workers" in text
    assert "workers" in text and "Gustafson" in text


def test_the_csv_carries_each_rows_workers_and_scaling(weak: Results) -> None:
    rows = list(csv.DictReader(io.StringIO(EXPORTERS["csv"].load()(ReportData(weak)).decode())))
    swept = [(r["workers"], r["tasks"], r["scaling"]) for r in rows if r["backend"] != BASELINE]
    assert sorted(swept) == [("1", "4", "weak"), ("2", "8", "weak"), ("4", "16", "weak")]


def test_the_plot_draws_the_sweep_against_workers_with_its_projection_labelled(
    weak: Results,
) -> None:
    pytest.importorskip("matplotlib")
    image = EXPORTERS["svg"].load()(ReportData(weak))
    assert b"speedup vs workers" in image and b"PROJECTION" in image and b"Gustafson" in image


def test_the_amdahl_panel_leaves_a_weak_sweep_to_its_own(weak: Results) -> None:
    assert scaling_points(summarize(weak)) == {}
