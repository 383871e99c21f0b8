"""METG(50 %) against scripted costs whose answer is solved by hand (tests/scripted_costs.py)."""

from __future__ import annotations

import dataclasses
import math

import pytest

from dist_bench.backends import BackendOptions
from dist_bench.costmodel import METG_EFFICIENCY, Metg, MetgKind, analyse
from dist_bench.costmodel.metg import crossing, metg_all
from dist_bench.costmodel.series import find_series
from dist_bench.costmodel.shapes import collect_points
from dist_bench.decisive import backend_drifts
from dist_bench.measure import MeasureSettings, measure, prepare_job
from dist_bench.results import Record, Results
from dist_bench.workload import Job
from tests.scripted_costs import REPEATS, SCRIPTS, WORKLOAD, make_scripted, measured_rounds

TASKS = 16


def true_metg(name: str) -> float:
    """The grain where serial work / (wall x slots) is 50 % for ``name``'s script (by hand):
    n·g = ½·P·(S + n·o + n·g/P_eff)  ⇒  g = (S/n + o) / (2/P − 1/P_eff)."""
    script = SCRIPTS[name][0]
    slots = min(script.workers, TASKS)
    per_task = script.startup_s / TASKS + script.per_task_overhead_s
    return per_task / (1 / (METG_EFFICIENCY * slots) - 1 / script.effective_parallelism)


def grain_records(name: str, grains: tuple[float, ...], rounds: int = 1) -> list[Record]:
    """Serial and ``name`` measured along the grain at 16 tasks, in ``rounds`` rounds."""
    records = []
    settings = MeasureSettings(repeats=REPEATS, warmup=0)
    for backend_name in ("serial", name):
        backend = make_scripted(backend_name, BackendOptions())
        backend.start()
        for round_ in range(rounds):
            for grain in grains:
                prepared = prepare_job(WORKLOAD, Job(TASKS, grain, 0))
                tasks = WORKLOAD.make_tasks(prepared.job)
                record = measure(backend, prepared, tasks, settings)
                records.append(dataclasses.replace(record, round=round_))
    return records


def metg_of(records: list[Record], backend: str) -> Metg:
    (found,) = [m for m in analyse(Results({}, [], records)).metgs if m.backend == backend]
    return found


GRAINS = (0.00025, 0.0005, 0.001, 0.002, 0.004, 0.008)


def test_metg_is_the_scripted_grain_where_efficiency_reaches_half() -> None:
    truth = true_metg("processes")
    assert GRAINS[2] < truth < GRAINS[3]  # bracketed by the measured grains
    found = metg_of(grain_records("processes", GRAINS), "processes")
    assert found.kind is MetgKind.REACHED
    assert found.grain_s == pytest.approx(truth, rel=0.03)
    low, high = found.interval
    assert low is not None and high is not None
    assert low <= truth <= high
    assert found.resampled == "samples"
    # Efficiency at each grain is the scripted one: serial work over wall x 2 slots.
    script = SCRIPTS["processes"][0]
    for point in found.points:
        expected = TASKS * point.grain_s / (2 * script.job_seconds(TASKS, point.grain_s, 0))
        assert point.efficiency == pytest.approx(expected, rel=0.05)


def test_records_of_several_rounds_are_resampled_by_round() -> None:
    truth = true_metg("dask")
    found = metg_of(grain_records("dask", (0.002, 0.004, 0.008, 0.016, 0.032), rounds=3), "dask")
    assert found.kind is MetgKind.REACHED
    assert (found.resampled, found.rounds) == ("rounds", 3)
    assert found.grain_s == pytest.approx(truth, rel=0.05)
    low, high = found.interval
    assert low is not None and high is not None
    assert low <= truth <= high


def test_the_interval_includes_the_drift_between_sessions() -> None:
    # Two rounds, every session 15 % off at random: resampling two rounds alone draws little of
    # it; the interval with each resample's session speed drawn from the measured drift is wider
    # and still holds the truth.
    scripts = {"serial": SCRIPTS["serial"], "processes": SCRIPTS["processes"]}
    results = measured_rounds(scripts, GRAINS, rounds=2, drift=0.15)
    grouped = collect_points(results)
    series_of = {WORKLOAD.name: find_series([p for points in grouped.values() for p in points])}
    drifts = backend_drifts(results)
    assert drifts.of("processes", WORKLOAD.name).df > 0
    (with_drift,) = metg_all(grouped, series_of, drifts=drifts)
    (rounds_only,) = metg_all(grouped, series_of)
    widths = []
    for found in (with_drift, rounds_only):
        low, high = found.interval
        assert low is not None and high is not None
        widths.append(math.log(high / low))
    assert widths[0] > 1.5 * widths[1]
    low, high = with_drift.interval
    assert low is not None and high is not None and low <= true_metg("processes") <= high


def test_gil_bound_threads_never_reach_half_and_say_so() -> None:
    found = metg_of(grain_records("threads", GRAINS), "threads")
    # One task's work at a time on 4 threads: at most 25 % efficient, whatever the grain.
    assert found.kind is MetgKind.NOT_REACHED
    assert found.grain_s is None
    assert found.interval == (None, None)
    assert found.best.efficiency < 0.26


def test_a_backend_efficient_from_the_smallest_grain_is_below_the_range() -> None:
    found = metg_of(grain_records("processes", (0.008, 0.016, 0.032)), "processes")
    assert found.kind is MetgKind.BELOW_RANGE
    assert found.grain_s is None
    assert found.interval == (None, None)
    assert found.searched == pytest.approx((0.008, 0.032), rel=0.05)


@pytest.mark.parametrize(
    ("points", "kind", "grain"),
    [
        # 1/efficiency linear in 1/grain: 1/g = 1 + (2 - 5)(1/4 - 1)/(1.25 - 5) = 0.4.
        ([(1.0, 0.2), (4.0, 0.8)], MetgKind.REACHED, 2.5),
        # The first grain at 50 % counts, whatever comes after: 1/g = 1 - 3·0.5/3.33 = 0.55.
        ([(1.0, 0.2), (2.0, 0.6), (4.0, 0.4), (8.0, 0.7)], MetgKind.REACHED, 1 / 0.55),
        ([(1.0, 0.5), (2.0, 0.9)], MetgKind.BELOW_RANGE, None),
        ([(1.0, 0.1), (2.0, 0.49)], MetgKind.NOT_REACHED, None),
    ],
)
def test_crossing_takes_the_first_grain_at_half(
    points: list[tuple[float, float]], kind: MetgKind, grain: float | None
) -> None:
    found_kind, found_grain = crossing(points)
    assert found_kind is kind
    if grain is None:
        assert found_grain is None
    else:
        assert found_grain is not None and math.isclose(found_grain, grain)
