"""The adaptive cutover search on scripted costs: budget, early stops, refinement, regeneration."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from dist_bench import cutover
from dist_bench.backends import BackendOptions
from dist_bench.backends.base import Backend
from dist_bench.backends.scripted import scripted_backend
from dist_bench.chunking import auto_chunk_size
from dist_bench.costmodel import CutoverAnalysis, JobShape, WarningKind, analyse
from dist_bench.cutover import CENTRE_TASKS, CutoverPlan, run_cutover
from dist_bench.measure import MeasureSettings
from dist_bench.report.sentences import crossover_sentence, warning_sentence
from dist_bench.results import Results, load_results
from dist_bench.results_writer import ResultsWriter
from dist_bench.units import AUTO
from tests.scripted_costs import SCRIPTS, WORKLOAD, make_scripted, search, true_crossover


def test_the_analysis_regenerates_from_the_saved_file(tmp_path: Path) -> None:
    path = tmp_path / "cutover.json"
    plan = CutoverPlan(workloads=[WORKLOAD], backends=list(SCRIPTS), budget_s=30.0)
    results, analysis = run_cutover(
        plan, ResultsWriter(path, {"host": "here"}), make_backend=make_scripted
    )
    again = analyse(load_results(path))
    assert json.dumps(again.to_json()) == json.dumps(analysis.to_json())
    assert len(load_results(path).records) == len(results.records)


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
    # No budget was left for the second round either: its drift is unknown, and it says so.
    assert not any(r.round for r in results.records)
    assert analysis.warnings[0].unrepeated == ("serial", "threads")  # type: ignore[attr-defined]
    assert "run-to-run drift is unknown" in warning_sentence(analysis.warnings[0])


def test_the_search_measures_both_sides_again_when_the_model_crossover_is_not_shown(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Very noisy runs, 3 repeats: the coarse series leave the model's crossover unshown, so the
    # search measures the series' ends again, for both backends of the pair. The grain series
    # without its smallest point (40 µs, where serial wins by 40x whatever the noise), and one
    # round, so the first round's search is what is seen.
    monkeypatch.setattr(cutover, "GRAIN_FRACTIONS", cutover.GRAIN_FRACTIONS[1:])
    monkeypatch.setattr(cutover, "CENTRE_GRAIN_INDEX", cutover.CENTRE_GRAIN_INDEX - 1)
    noisy = {name: (dataclasses.replace(s, noise=0.8), m) for name, (s, m) in SCRIPTS.items()}

    def make(name: str, options: BackendOptions) -> Backend:
        script, shares = noisy[name]
        return scripted_backend(name, script, shares)(options)

    plan = CutoverPlan(
        workloads=[WORKLOAD],
        backends=["serial", "processes"],
        budget_s=60.0,
        rounds=1,
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


def test_each_backends_first_start_probes_its_dispatch_cost_for_advise(
    searched: tuple[Results, CutoverAnalysis],
) -> None:
    results, analysis = searched
    probes: dict[str, list[float]] = {}
    for run in results.backends:
        if run.dispatch_s is not None:
            probes.setdefault(run.backend, []).append(run.dispatch_s)
    # Once per backend, as `run` probes it: the scripted cost of one dispatch.
    assert sorted(probes) == sorted(SCRIPTS)
    for name, (script, _) in SCRIPTS.items():
        [probed] = probes[name]
        assert probed == pytest.approx(script.per_task_overhead_s, abs=1e-12)
        # The fit keeps it: `advise` sizes --chunk auto's chunks from it, as `run` would.
        fit = analysis.fit_for("scripted", name)
        assert fit is not None and fit.dispatch_s == probed
        assert fit.chunk_size(1024, 0.002, AUTO) == auto_chunk_size(
            probed, 0.002, fit.workers, 1024
        )
