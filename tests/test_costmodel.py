"""The cost model's maths, checked on scripted backends whose true costs are known.

The scripted backend charges each job exactly T = S + n·o + n·g/P + n·b/B on a virtual clock, with
seeded noise, and runs through the real cutover search, measurement and verification; so the fit,
the crossovers and their intervals are checked against the script, not against timings.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from dist_bench.backends import BackendOptions
from dist_bench.backends.base import Backend
from dist_bench.backends.scripted import SCRIPTED_WORKLOAD, CostScript, scripted_backend
from dist_bench.costmodel import (
    Crossover,
    CrossoverKind,
    CutoverAnalysis,
    JobShape,
    ParallelismAboveWorkers,
    WarningKind,
    analyse,
    node_count,
    shape_to_ask,
)
from dist_bench.cutover import CENTRE_TASKS, CutoverPlan, run_cutover
from dist_bench.errors import TaskFailedError
from dist_bench.measure import MeasureSettings, measure, prepare_job
from dist_bench.report.sentences import (
    crossover_sentence,
    format_axis,
    format_location,
    warning_sentence,
)
from dist_bench.results import Record, Results, ResultsWriter, load_results
from dist_bench.workload import Job, TaskArgs, Workload

NOISE = 0.02
#: Measured jobs per shape: with 2 % noise, 5 repeats put each median within about 1 %.
REPEATS = 5
SCRIPTS: dict[str, tuple[CostScript, bool]] = {
    "serial": (CostScript(workers=1, noise=NOISE, seed=1), True),
    # GIL-bound threads: cheap dispatch, no parallelism, memory shared (no bytes cost).
    "threads": (
        CostScript(
            startup_s=2e-4,
            per_task_overhead_s=3e-5,
            effective_parallelism=1.0,
            workers=4,
            noise=NOISE,
            seed=2,
        ),
        True,
    ),
    "processes": (
        CostScript(
            startup_s=5e-3,
            per_task_overhead_s=3e-4,
            effective_parallelism=1.9,
            bandwidth_bytes_per_s=5e8,
            workers=2,
            noise=NOISE,
            seed=3,
        ),
        False,
    ),
    "dask": (
        CostScript(
            startup_s=2e-2,
            per_task_overhead_s=1.5e-3,
            effective_parallelism=1.95,
            bandwidth_bytes_per_s=2e8,
            workers=2,
            noise=NOISE,
            seed=4,
        ),
        False,
    ),
}
WORKLOAD = dataclasses.replace(SCRIPTED_WORKLOAD, default_grain_s=0.05, default_bytes=4 << 20)


def make_scripted(name: str, options: BackendOptions) -> Backend:
    script, shares_memory = SCRIPTS[name]
    return scripted_backend(name, script, shares_memory)(options)


def search(budget_s: float = 30.0, **plan: object) -> tuple[Results, CutoverAnalysis]:
    full = CutoverPlan(
        workloads=[WORKLOAD],
        backends=list(SCRIPTS),
        budget_s=budget_s,
        settings=MeasureSettings(repeats=REPEATS, warmup=0),
    )
    full = dataclasses.replace(full, **plan)  # type: ignore[arg-type]
    return run_cutover(full, ResultsWriter(None, {}), make_backend=make_scripted)


@pytest.fixture(scope="module")
def searched() -> tuple[Results, CutoverAnalysis]:
    return search(project_nodes=(2, 4, 8))


def true_crossover(first: str, second: str, at: JobShape) -> float:
    """Where the two scripts' costs meet along the grain at ``at`` (solved by hand)."""
    a, b = SCRIPTS[first][0], SCRIPTS[second][0]
    n, size = at.tasks, at.bytes_per_task

    def fixed(s: CostScript) -> float:
        moving = n * size / s.bandwidth_bytes_per_s if s.bandwidth_bytes_per_s else 0.0
        return s.startup_s + n * s.per_task_overhead_s + moving

    per_grain = n / a.effective_parallelism - n / b.effective_parallelism
    return (fixed(b) - fixed(a)) / per_grain


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


@pytest.mark.parametrize(
    ("light", "heavy", "reason"),
    [("threads", "processes", "GIL"), ("serial", "dask", "pickling"), ("threads", "dask", "GIL")],
)
def test_grain_crossovers_within_10_percent_with_the_truth_in_their_interval(
    searched: tuple[Results, CutoverAnalysis], light: str, heavy: str, reason: str
) -> None:
    _, analysis = searched
    (found,) = [
        c for c in analysis.crossovers if c.axis == "grain_s" and set(c.backends) == {light, heavy}
    ]
    truth = true_crossover(light, heavy, found.at)
    assert found.value == pytest.approx(truth, rel=0.10)
    assert found.winner_below == light
    assert found.winner_above == heavy
    assert found.interval is not None
    assert found.interval.low <= truth <= found.interval.high
    assert found.reason == reason
    assert found.kind is CrossoverKind.REACHED
    sentence = crossover_sentence(found, analysis.fits)
    assert reason in sentence and heavy in sentence
    # The measurements show it: a clear win of each side's winner on its side, named.
    below, above = found.evidence_below, found.evidence_above
    assert below is not None and above is not None
    assert (below.faster, above.faster) == (light, heavy)
    assert below.value < truth < above.value
    assert below.faster_s < below.slower_s and above.faster_s < above.slower_s
    assert below.value <= found.interval.low <= found.interval.high <= above.value
    for item in (below, above):
        assert f"clearly faster at {format_axis('grain_s', item.value)}" in sentence


def test_a_crossover_outside_the_searched_range_is_reported_as_not_reached(
    searched: tuple[Results, CutoverAnalysis],
) -> None:
    _, analysis = searched
    (found,) = [
        c
        for c in analysis.crossovers
        if c.axis == "grain_s" and set(c.backends) == {"serial", "threads"}
    ]
    assert not found.reached
    assert found.value is None
    assert found.winner_below == found.winner_above == "serial"
    low, high = found.searched
    assert low < high
    assert found.kind in (CrossoverKind.LEVEL, CrossoverKind.NOT_REACHED)
    assert "no crossover" in crossover_sentence(found, analysis.fits)


def test_the_analysis_regenerates_from_the_saved_file(tmp_path: Path) -> None:
    path = tmp_path / "cutover.json"
    plan = CutoverPlan(workloads=[WORKLOAD], backends=list(SCRIPTS), budget_s=30.0)
    results, analysis = run_cutover(
        plan, ResultsWriter(path, {"host": "here"}), make_backend=make_scripted
    )
    again = analyse(load_results(path))
    assert json.dumps(again.to_json()) == json.dumps(analysis.to_json())
    assert len(load_results(path).records) == len(results.records)


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


def test_refinement_adds_shapes_inside_a_wide_crossover_interval() -> None:
    noisy = {name: (dataclasses.replace(s, noise=0.3), m) for name, (s, m) in SCRIPTS.items()}
    coarse = {0.05 * f for f in (1 / 250, 1 / 50, 1 / 10, 1 / 2)}

    def make(name: str, options: BackendOptions) -> Backend:
        script, shares = noisy[name]
        return scripted_backend(name, script, shares)(options)

    plan = CutoverPlan(workloads=[WORKLOAD], backends=["serial", "processes"], budget_s=60.0)
    results, _ = run_cutover(plan, ResultsWriter(None, {}), make_backend=make)
    extra = {r.grain_s for r in results.records if r.backend == "processes"} - coarse
    assert extra, "no refinement shape was measured"
    truth = true_crossover("serial", "processes", JobShape(16, 0.001, 512 << 10))
    assert any(0.5 * truth <= grain <= 2 * truth for grain in extra)


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


def test_the_scripted_backend_verifies_answers_and_runs_only_declared_costs() -> None:
    backend = make_scripted("processes", BackendOptions())
    backend.start()
    prepared = prepare_job(WORKLOAD, Job(8, 0.01, 1000))
    record = measure(
        backend, prepared, WORKLOAD.make_tasks(prepared.job), MeasureSettings(repeats=2, warmup=0)
    )
    assert record.verified
    script = SCRIPTS["processes"][0]
    # Noise is multiplicative and centred: each sample is near the scripted time.
    for sample in record.wall_s:
        assert sample == pytest.approx(script.job_seconds(8, 0.01, 1000), rel=5 * NOISE)

    def other_tasks(job: Job) -> list[TaskArgs]:
        return [("not a declared cost",)]

    other = Workload(name="other", summary="", make_tasks=other_tasks, task=str, calibrated=False)
    prepared = prepare_job(other, Job(1, 0.01, 0))
    with pytest.raises(TaskFailedError, match="scripted workload"):
        measure(backend, prepared, other.make_tasks(prepared.job), MeasureSettings(repeats=1))


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


def test_a_series_stops_once_settled_against_every_earlier_backend() -> None:
    results, _ = search(backends=["serial", "threads", "processes"])
    largest_grain = 0.05 / 2

    def grains(backend: str) -> set[float]:
        return {r.grain_s for r in results.records if r.backend == backend and r.tasks == 16}

    assert largest_grain in grains("serial")
    # Threads run level with serial at large grains (the GIL): never settled, all measured.
    assert largest_grain in grains("threads")
    # Processes crossed serial and threads by 5 ms with intervals apart: 25 ms adds nothing.
    assert largest_grain not in grains("processes")
    assert len(grains("processes")) >= 3


def test_an_exhausted_budget_skips_the_most_expensive_points_and_says_so() -> None:
    # With no budget at all, every series keeps its 3 cheapest points and the run warns.
    results, analysis = search(budget_s=1e-9, backends=["serial", "threads"])
    assert 0.05 / 2 not in {r.grain_s for r in results.records}
    assert len({r.grain_s for r in results.records if r.backend == "threads"}) == 3
    assert analysis.warnings[0].kind is WarningKind.BUDGET_RAN_OUT
    assert "raise --budget" in warning_sentence(analysis.warnings[0])


def grain_series(spread: float, bends: tuple[float, ...] = (1.0,) * 6) -> Results:
    """Serial and processes measured noise-free along the grain, their samples then widened.

    Each shape gets 9 samples: 5 at the scripted time m, 2 at m / ``spread`` and 2 at
    m · ``spread``; so every median stays m (the fit is the same whatever ``spread``) while the
    order-statistics interval of each median is [m / spread, m · spread]. ``bends`` multiply
    processes' time grain by grain (costs the linear model cannot follow; the winner at each grain
    stays the scripted one).
    """
    records: list[Record] = []
    for name in ("serial", "processes"):
        script, shares_memory = SCRIPTS[name]
        backend = scripted_backend(name, dataclasses.replace(script, noise=0.0), shares_memory)(
            BackendOptions()
        )
        backend.start()
        for index, grain in enumerate((0.0005, 0.001, 0.002, 0.004, 0.008, 0.016)):
            prepared = prepare_job(WORKLOAD, Job(16, grain, 0))
            settings = MeasureSettings(repeats=1, warmup=0)
            record = measure(backend, prepared, WORKLOAD.make_tasks(prepared.job), settings)
            (m,) = record.wall_s
            if name == "processes":
                m *= bends[index]
            widened = [m / spread] * 2 + [m] * 5 + [m * spread] * 2
            records.append(dataclasses.replace(record, wall_s=widened))
    return Results({}, [], records)


def grain_crossover(results: Results) -> Crossover:
    (found,) = [c for c in analyse(results).crossovers if c.axis == "grain_s"]
    return found


def grain_sentence(results: Results) -> str:
    """The grain crossover of ``results`` in words."""
    analysis = analyse(results)
    (found,) = [c for c in analysis.crossovers if c.axis == "grain_s"]
    return crossover_sentence(found, analysis.fits)


def test_a_model_crossing_the_measured_samples_do_not_support_is_not_reported() -> None:
    # With tight samples the two clearly win at the ends: the crossover is reported...
    tight = grain_crossover(grain_series(spread=1.01))
    assert tight.reached
    truth = true_crossover("serial", "processes", tight.at)
    assert tight.value == pytest.approx(truth, rel=0.10)
    # ...with the same medians, hence the same fit, but samples overlapping everywhere (serial
    # and processes never differ by 4x here), the measurements do not show it.
    loose = grain_crossover(grain_series(spread=2.0))
    assert loose.model_value == pytest.approx(tight.value, rel=0.10)
    assert not loose.reached
    assert loose.value is None and loose.interval is None
    assert loose.unshown
    assert loose.evidence_below is None and loose.evidence_above is None
    assert loose.kind is CrossoverKind.UNSHOWN
    sentence = grain_sentence(grain_series(spread=2.0))
    assert "not shown by the measurements" in sentence
    assert "at no measured shape is either clearly faster" in sentence


def test_where_the_model_is_rough_the_crossover_is_bracketed_by_the_measurements() -> None:
    bent = grain_series(spread=1.01, bends=(2.5, 1.0, 0.5, 1.4, 0.4, 1.6))
    found = grain_crossover(bent)
    processes = analyse(bent).fit_for("scripted", "processes")
    assert processes is not None and processes.holdout_error is not None
    assert processes.holdout_error > 0.25
    assert found.reached and found.rough
    below, above = found.evidence_below, found.evidence_above
    assert below is not None and above is not None
    assert below.value < above.value
    ends = (
        f"between {format_axis('grain_s', below.value)} and {format_axis('grain_s', above.value)}"
    )
    assert found.kind is CrossoverKind.BRACKETED
    sentence = grain_sentence(bent)
    assert ends in sentence
    assert "rough here" in sentence
    # The model's number and interval are not given as the location.
    assert "from a grain of" not in sentence
    assert "95 % interval" not in sentence


def test_a_model_crossing_on_a_shape_measured_the_other_way_is_bracketed_not_given() -> None:
    # Processes 30 % slower at 2 ms only: serial is then measured clearly faster there, while
    # the linear fit (good elsewhere) still has processes overtake below 2 ms.
    measured = grain_series(spread=1.01, bends=(1.0, 1.0, 1.3, 1.0, 1.0, 1.0))
    crossing = grain_crossover(measured)
    below, above = crossing.evidence_below, crossing.evidence_above
    assert crossing.reached and not crossing.rough
    assert below is not None and above is not None and crossing.model_value is not None
    assert crossing.model_value < below.value < above.value
    assert crossing.model_outside and crossing.bracketed_only
    ends = (
        f"between {format_axis('grain_s', below.value)} and {format_axis('grain_s', above.value)}"
    )
    assert crossing.kind is CrossoverKind.BRACKETED
    sentence = grain_sentence(measured)
    assert ends in sentence
    assert "where the measurements show the other order" in sentence
    assert "from a grain of" not in sentence
    assert format_location(crossing) == f"{ends} (measured; model outside)"


def test_a_measured_grain_is_asked_for_as_the_grain_that_gave_it() -> None:
    # io-like: every task measured 1 ms longer than the latency asked for (connection costs).
    asked = (0.001, 0.002, 0.004, 0.008)
    serial = [
        Record("io", "serial", 16, grain, 0, 1, 1, wall_s=[1.0], task_s=[16 * (grain + 0.001)],
               verified=True)
        for grain in asked
    ]  # fmt: skip
    other_line = Record("io", "serial", 64, 0.1, 0, 1, 1, task_s=[64 * 0.3], verified=True)
    results = Results({}, [], [*serial, other_line])
    line = JobShape(16, 0.004, 0)
    crossing = dataclasses.replace(grain_crossover(grain_series(spread=1.01)), line=line)
    crossing = dataclasses.replace(crossing, workload="io")
    # Measured 3 ms was asked as 2 ms; between records, log-log interpolation.
    assert shape_to_ask(results, crossing, 0.003) == JobShape(16, pytest.approx(0.002), 0)
    between = shape_to_ask(results, crossing, 0.004).grain_s
    assert 0.002 < between < 0.004
    # Beyond the records the nearest record's ratio holds (8 ms asked gave 9 ms).
    assert shape_to_ask(results, crossing, 0.018).grain_s == pytest.approx(0.016)
    # The tasks axis needs no translation; no serial records, no translation.
    tasks = dataclasses.replace(crossing, axis="tasks")
    assert shape_to_ask(results, tasks, 40) == JobShape(40, 0.004, 0)
    assert shape_to_ask(Results({}, [], []), crossing, 0.003) == JobShape(16, 0.003, 0)


def test_a_fitted_parallelism_beyond_the_workers_is_flagged(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def warned(results: Results) -> list[ParallelismAboveWorkers]:
        return [w for w in analyse(results).warnings if isinstance(w, ParallelismAboveWorkers)]

    assert warned(grain_series(spread=1.01)) == []  # scripted 1.9 on 2 workers
    script, shares_memory = SCRIPTS["processes"]
    impossible = dataclasses.replace(script, effective_parallelism=3.0)
    monkeypatch.setitem(SCRIPTS, "processes", (impossible, shares_memory))
    [warning] = warned(grain_series(spread=1.01))
    assert (warning.workload, warning.backend, warning.workers) == ("scripted", "processes", 2)
    assert warning.parallelism == pytest.approx(3.0, rel=0.05)
    assert warning_sentence(warning).startswith(
        "scripted on processes: P_eff 3.00 exceeds its 2 workers"
    )


def test_the_search_measures_both_sides_again_when_the_model_crossover_is_not_shown() -> None:
    # Very noisy runs, 3 repeats: the coarse series leave the model's crossover unshown, so the
    # search measures the series' ends again, for both backends of the pair.
    noisy = {name: (dataclasses.replace(s, noise=0.8), m) for name, (s, m) in SCRIPTS.items()}

    def make(name: str, options: BackendOptions) -> Backend:
        script, shares = noisy[name]
        return scripted_backend(name, script, shares)(options)

    plan = CutoverPlan(
        workloads=[WORKLOAD],
        backends=["serial", "processes"],
        budget_s=60.0,
        settings=MeasureSettings(repeats=3, warmup=0),
    )
    results, analysis = run_cutover(plan, ResultsWriter(None, {}), make_backend=make)
    grains = sorted({r.grain_s for r in results.records if r.tasks == CENTRE_TASKS})
    for backend in ("serial", "processes"):
        for grain in (grains[0], grains[-1]):
            again = [
                r
                for r in results.records
                if r.backend == backend and r.grain_s == grain and r.tasks == CENTRE_TASKS
            ]
            assert len(again) >= 2, f"{backend} at {grain} s was not measured again"
    (found,) = [c for c in analysis.crossovers if c.axis == "grain_s"]
    # Whatever the extra samples showed, the report says it in the matching words.
    assert found.model_value is not None
    sentence = crossover_sentence(found, analysis.fits)
    assert ("not shown by the measurements" in sentence) == found.unshown
