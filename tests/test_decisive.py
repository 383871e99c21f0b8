"""The decisive rule and the answers built on it, on scripted costs whose truth is known.

Decisive: clear within the run, larger than the run-to-run drift measured between rounds, steady
across rounds (dist_bench.decisive). A steep crossing is reported as a point; a shallow crossing
of two nearly parallel lines is "about equal"; drift between sessions widens the interval and
raises the bar.
"""

from __future__ import annotations

import dataclasses
import itertools

import pytest

from dist_bench.backends.scripted import CostScript
from dist_bench.costmodel import CrossoverKind, StepAnswer, analyse
from dist_bench.decisive import (
    PRACTICAL_MARGIN,
    Contrast,
    Difference,
    Drifts,
    backend_drifts,
    contrast,
    planned_rounds,
)
from dist_bench.report.content import ReportData
from dist_bench.report.headline_sentences import ladder_sentence
from dist_bench.report.html_exporter import render as render_html
from dist_bench.report.sentences import crossover_sentence
from dist_bench.results import Record, Results
from tests.scripted_costs import SCRIPTS, measured_rounds, search, true_crossover

GRAINS = (0.0005, 0.001, 0.002, 0.004, 0.008, 0.016)
SERIAL = CostScript(workers=1, noise=0.02, seed=1)


def _twin(slope: float, startup_s: float) -> CostScript:
    """A backend whose line runs beside serial's: ``slope`` times its cost per grain."""
    return CostScript(
        startup_s=startup_s, effective_parallelism=1.0 / slope, workers=1, noise=0.02, seed=7
    )


def _grain_crossover(results: Results, pair: set[str]):  # type: ignore[no-untyped-def]
    analysis = analyse(results)
    (found,) = [c for c in analysis.crossovers if c.axis == "grain_s" and set(c.backends) == pair]
    return found, analysis


def test_a_steep_crossing_is_a_decisive_point_with_the_truth_in_its_interval() -> None:
    scripts = {"serial": (SERIAL, True), "processes": SCRIPTS["processes"]}
    results = measured_rounds(scripts, GRAINS, rounds=3, drift=0.02)
    found, analysis = _grain_crossover(results, {"serial", "processes"})
    truth = true_crossover("serial", "processes", found.at)
    assert found.kind in (CrossoverKind.REACHED, CrossoverKind.BRACKETED)
    assert found.value == pytest.approx(truth, rel=0.10)
    assert found.interval is not None
    assert found.interval.low < found.value < found.interval.high
    for evidence in (found.evidence_below, found.evidence_above):
        assert evidence is not None
        assert evidence.rounds == 3
        assert evidence.slower_s / evidence.faster_s > 1.0 + evidence.floor
    assert "decisively faster" in crossover_sentence(found, analysis.fits)


def test_a_shallow_crossing_of_nearly_parallel_lines_is_about_equal_not_a_point() -> None:
    # 3 % cheaper per grain, 600 µs more per job: the lines cross at 1.25 ms (600 µs over
    # 16 tasks' 3 %), never 5 % apart between 500 µs and 16 ms.
    scripts = {"serial": (SERIAL, True), "threads": (_twin(0.97, 6e-4), True)}
    results = measured_rounds(scripts, GRAINS, rounds=3)
    found, analysis = _grain_crossover(results, {"serial", "threads"})
    assert found.meets_at == pytest.approx(6e-4 / (16 * 0.03), rel=0.5)
    assert found.kind is CrossoverKind.ABOUT_EQUAL
    assert found.value is None and found.interval is None
    assert found.equal_span is not None and found.equal_span[0] < found.equal_span[1]
    sentence = crossover_sentence(found, analysis.fits)
    assert "about equal" in sentence and "no crossover point is claimed" in sentence


def test_the_same_crossing_steeper_is_reported_as_a_point() -> None:
    # The known-answer pair of the test above, with the slopes 40 % apart: now decisive.
    scripts = {"serial": (SERIAL, True), "threads": (_twin(0.6, 8e-3), True)}
    results = measured_rounds(scripts, GRAINS, rounds=3)
    found, _ = _grain_crossover(results, {"serial", "threads"})
    truth = 8e-3 / (16 * 0.4)  # S = 16·g·(1 − 0.6)
    assert found.kind in (CrossoverKind.REACHED, CrossoverKind.BRACKETED)
    assert found.value == pytest.approx(truth, rel=0.25)


def test_drift_between_sessions_is_measured_and_raises_the_bar() -> None:
    # Twin runs 8 % faster than serial at every grain (parallel lines, both through 0); with
    # drift, every session runs at its own speed, 10 % apart (one standard deviation).
    scripts = {"serial": (SERIAL, True), "threads": (_twin(1 / 1.08, 0.0), True)}
    quiet = measured_rounds(scripts, GRAINS, rounds=8)
    drifting = measured_rounds(scripts, GRAINS, rounds=8, drift=0.10)
    quiet_drift, drift = backend_drifts(quiet), backend_drifts(drifting)
    # Without session drift, only the repeats' noise (2 %, a median of 5) moves a round.
    assert quiet_drift.by_backend["serial"].relative < 0.03
    assert 0.05 < drift.by_backend["serial"].relative < 0.2
    assert drift.by_backend["serial"].df == 8 * len(GRAINS) - len(GRAINS)

    def verdict(results: Results, drifts):  # type: ignore[no-untyped-def]
        at = [r for r in results.records if r.grain_s == GRAINS[-1]]
        return contrast(
            [r for r in at if r.backend == "serial"],
            [r for r in at if r.backend == "threads"],
            drifts,
        )

    calm = verdict(quiet, quiet_drift)
    assert calm is not None and calm.faster == "threads"
    assert calm.difference is Difference.DECISIVE and calm.floor == PRACTICAL_MARGIN
    shaky = verdict(drifting, drift)
    # The pair's floor is the two backends' drift together: about 10 % · √2.
    assert shaky is not None and 0.08 < shaky.floor < 0.3
    assert shaky.difference is not Difference.DECISIVE


def test_each_workload_is_judged_by_its_own_drift() -> None:
    # Threads take 0.85 of serial's time at every grain. One workload's sessions hold their
    # speed (3 % drift), another's wander 40 %: pooled over the backend, the wandering one's
    # drift sets the steady one's bar above its 1.18x; judged by its own, the steady one is
    # decisive at every grain, and the wandering one's bar is higher than the pool's.
    scripts = {"serial": (SERIAL, True), "threads": (_twin(0.85, 0.0), True)}
    steady = measured_rounds(scripts, GRAINS, rounds=3, drift=0.03)
    wandering = measured_rounds(scripts, GRAINS, rounds=3, drift=0.4)
    name = steady.records[0].workload
    records = steady.records + [
        dataclasses.replace(r, workload="wandering") for r in wandering.records
    ]
    drifts = backend_drifts(Results({}, [], records))
    pooled = Drifts(drifts.by_backend, {})

    def verdicts(workload: str, judged_by: Drifts) -> list[Contrast]:
        found = []
        for grain in GRAINS:
            at = [r for r in records if r.workload == workload and r.grain_s == grain]
            verdict = contrast(
                [r for r in at if r.backend == "serial"],
                [r for r in at if r.backend == "threads"],
                judged_by,
                rounds=3,
            )
            assert verdict is not None
            found.append(verdict)
        return found

    assert all(v.difference is Difference.DECISIVE for v in verdicts(name, drifts))
    assert not any(v.difference is Difference.DECISIVE for v in verdicts(name, pooled))
    own, shared = verdicts("wandering", drifts), verdicts("wandering", pooled)
    assert all(a.floor > b.floor for a, b in zip(own, shared, strict=True))


def test_the_interval_holds_where_a_fresh_run_finds_the_crossing() -> None:
    # Eight runs of two rounds each, every session 10 % off at random: each run's interval must
    # hold where the other runs place the crossing (the resamples' session speeds), not only
    # where this run's two rounds put it (resampling two rounds alone: 40 of 56).
    runs = []
    for seed in range(8):
        scripts = {
            "serial": (dataclasses.replace(SERIAL, seed=100 + seed), True),
            "processes": (dataclasses.replace(SCRIPTS["processes"][0], seed=200 + seed), False),
        }
        found, _ = _grain_crossover(
            measured_rounds(scripts, GRAINS, rounds=2, drift=0.1), {"serial", "processes"}
        )
        assert found.value is not None and found.interval is not None
        runs.append((found.value, found.interval))
    held = sum(
        interval.low <= value <= interval.high
        for (_, interval), (value, _) in itertools.permutations(runs, 2)
    )
    assert held >= 0.9 * 8 * 7


def _serial_against_threads(results: Results, rounds: int) -> dict[float, Contrast]:
    """Serial against threads at each grain, judged with the run's own drifts."""
    drifts = backend_drifts(results)
    judged = {}
    for grain in GRAINS:
        at = [r for r in results.records if r.grain_s == grain]
        by = {name: [r for r in at if r.backend == name] for name in ("serial", "threads")}
        verdict = contrast(by["serial"], by["threads"], drifts, rounds=rounds)
        assert verdict is not None
        judged[grain] = verdict
    return judged


def test_two_rounds_are_judged_with_the_pooled_drift_not_one_degree_of_freedom() -> None:
    # Twin takes 0.6 of serial's time at every grain, sessions drift 3 %: a difference far above
    # the drift at every shape. Two rounds give each shape's log ratio one degree of freedom;
    # judged on that alone (t needs 12.7 standard errors) a shape whose two rounds happen to
    # spread more than the pool would not be decisive. The pool's degrees of freedom decide.
    scripts = {"serial": (SERIAL, True), "threads": (_twin(0.6, 0.0), True)}
    results = measured_rounds(scripts, GRAINS, rounds=2, drift=0.03)
    assert backend_drifts(results).by_backend["serial"].df == len(GRAINS)
    for grain, verdict in _serial_against_threads(results, rounds=2).items():
        assert verdict.rounds == 2
        assert verdict.faster == "threads" and verdict.difference is Difference.DECISIVE, grain


def test_a_difference_within_the_drift_is_not_decisive_however_many_rounds() -> None:
    # 12 % apart, sessions drifting 15 %: with 8 rounds the difference may pass Student's t,
    # but the next session's drift can undo it, so it is not reported as decisive.
    scripts = {"serial": (SERIAL, True), "threads": (_twin(1 / 1.12, 0.0), True)}
    results = measured_rounds(scripts, GRAINS, rounds=8, drift=0.15)
    judged = _serial_against_threads(results, rounds=8).values()
    within = [verdict for verdict in judged if verdict.ratio <= 1.0 + verdict.floor]
    assert within, "no shape measured within the drift: the script no longer tests the rule"
    assert all(verdict.difference is not Difference.DECISIVE for verdict in within)


def test_the_interval_bootstraps_over_rounds_so_drift_widens_it() -> None:
    scripts = {"serial": (SERIAL, True), "processes": SCRIPTS["processes"]}
    results = measured_rounds(scripts, GRAINS, rounds=4, drift=0.08)
    with_rounds, _ = _grain_crossover(results, {"serial", "processes"})
    # The same records as if one round had measured them all: samples only.
    pooled = Results({}, [], [dataclasses.replace(r, round=0) for r in results.records])
    samples_only, _ = _grain_crossover(pooled, {"serial", "processes"})
    assert with_rounds.interval is not None and samples_only.interval is not None
    width = with_rounds.interval.high - with_rounds.interval.low
    assert width > samples_only.interval.high - samples_only.interval.low


def test_the_ladder_answers_each_step_or_says_why_it_is_out_of_range() -> None:
    results, analysis = search(backends=["serial", "threads", "processes", "dask"])
    steps = {(s.lower, s.upper): s for s in analysis.ladder if s.workload == "scripted"}
    assert set(steps) == {("serial", "threads"), ("serial", "processes"), ("processes", "dask")}
    # GIL-bound threads never pay along the grain (level with serial at the top, where their
    # fixed costs are a small share); dask's extra costs put its step far above the range.
    threads = steps[("serial", "threads")]
    assert threads.answer is StepAnswer.LEVEL and threads.crossover.winner_below == "serial"
    processes = steps[("serial", "processes")]
    assert processes.answer is StepAnswer.PAYS_FROM
    truth = true_crossover("serial", "processes", processes.crossover.at)
    interval = processes.crossover.interval
    assert interval is not None and interval.low <= truth <= interval.high
    dask = steps[("processes", "dask")]
    assert dask.answer is StepAnswer.NEVER_PAYS
    assert dask.beyond is not None and dask.beyond > dask.crossover.searched[1]
    assert "above the largest grain measured" in ladder_sentence(dask)
    # Every shape that decides a ladder answer was measured again in a second round.
    again = {(r.backend, r.size_key()) for r in results.records if r.round == 1}
    assert {"serial", "processes", "dask"} <= {backend for backend, _ in again}


def test_the_glance_grid_colours_only_decisive_differences() -> None:
    # Twin 3 % faster (within the margin) and processes far faster at the largest grain.
    scripts = {
        "serial": (SERIAL, True),
        "threads": (_twin(0.97, 0.0), True),
        "processes": SCRIPTS["processes"],
    }
    results = measured_rounds(scripts, (GRAINS[-1],), rounds=2)
    page = render_html(ReportData(results)).decode()
    grid = page[page.index('id="glance"') : page.index("</section>", page.index('id="glance"'))]
    rows = {row.split("</td>")[0].rsplit(">", 1)[-1]: row for row in grid.split("<tr>")[2:]}
    assert 'class="glance even"' in rows["threads"]
    assert 'class="glance win"' in rows["processes"]


def test_noisy_medians_that_happen_to_meet_are_unclear_not_equal() -> None:
    # The same 3 % apart pair twice: measured precisely it is about equal; with every job's time
    # spread by 50 %, medians that land close together prove nothing either way.
    for noise, expected in ((0.02, Difference.EQUAL), (0.5, Difference.UNCLEAR)):
        scripts = {
            "serial": (dataclasses.replace(SERIAL, noise=noise), True),
            "threads": (dataclasses.replace(_twin(0.97, 0.0), noise=noise), True),
        }
        results = measured_rounds(scripts, (GRAINS[-1],), rounds=2)
        by = {b: [r for r in results.records if r.backend == b] for b in scripts}
        verdict = contrast(by["serial"], by["threads"], backend_drifts(results))
        assert verdict is not None
        assert verdict.difference is expected


def test_in_a_run_with_rounds_a_shape_measured_in_one_round_is_never_decisive() -> None:
    # Processes 3x faster than serial at 16 ms: decisive where both rounds measured it; the
    # same difference measured in round 0 only is one moment of the machine, not an answer.
    scripts = {"serial": (SERIAL, True), "processes": SCRIPTS["processes"]}
    both = measured_rounds(scripts, (GRAINS[-2], GRAINS[-1]), rounds=2)
    records = [r for r in both.records if r.round == 0 or r.grain_s == GRAINS[-2]]
    drifts = backend_drifts(Results({}, [], records))
    assert drifts.by_backend["serial"].df > 0  # the run measured rounds: drift is known
    rounds = planned_rounds(Results({}, [], records))
    assert rounds == 2

    def at(grain: float, backend: str) -> list[Record]:
        return [r for r in records if r.grain_s == grain and r.backend == backend]

    twice = contrast(at(GRAINS[-2], "serial"), at(GRAINS[-2], "processes"), drifts, rounds)
    once = contrast(at(GRAINS[-1], "serial"), at(GRAINS[-1], "processes"), drifts, rounds)
    assert twice is not None and twice.difference is Difference.DECISIVE
    assert once is not None and once.ratio > 1.5 and once.difference is Difference.UNCLEAR


def test_a_cutover_whose_second_round_never_came_reports_no_point() -> None:
    # A steep, true crossing measured in one round: reported in a one-round file; in a run that
    # planned two rounds (its budget ran out before the second), nothing is decisive.
    scripts = {"serial": (SERIAL, True), "processes": SCRIPTS["processes"]}
    once = measured_rounds(scripts, GRAINS, rounds=1)
    found, _ = _grain_crossover(once, {"serial", "processes"})
    assert found.reached
    planned = Results({"rounds": 2}, once.backends, once.records)
    assert planned_rounds(planned) == 2
    unrepeated, _ = _grain_crossover(planned, {"serial", "processes"})
    assert not unrepeated.reached
    assert unrepeated.evidence_below is None or unrepeated.evidence_above is None
