"""The node sweep against a scripted pool: costs known, so the laws' answers are known."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from dist_bench.backends import BackendOptions
from dist_bench.backends.base import Backend
from dist_bench.backends.scripted import SCRIPTED_WORKLOAD, CostScript, scripted_backend
from dist_bench.errors import UsageError
from dist_bench.measure import MeasureSettings
from dist_bench.node_sweep import NodeSweepPlan, run_node_sweep
from dist_bench.results import load_results
from dist_bench.results_writer import ResultsWriter
from dist_bench.scaling import NodeSlice, Scaling, scaling_curves

START_S = 0.05
PER_TASK_S = 0.002
GRAIN_S = 0.01
TASKS_PER_NODE = 4


class ScriptedPool:
    """N nodes: N times the parallelism, the same start-up and dispatch (one driver does it)."""

    node_slice = NodeSlice(cpus=0.5, memory_bytes=1 << 30)

    def __init__(self, per_task_s: float = PER_TASK_S, noise: float = 0.0) -> None:
        self.per_task_s = per_task_s
        self.noise = noise
        self.sizes: list[int] = []

    def resize(self, nodes: int) -> Backend:
        self.sizes.append(nodes)
        script = CostScript(
            startup_s=START_S,
            per_task_overhead_s=self.per_task_s,
            effective_parallelism=float(nodes),
            workers=nodes,
            noise=self.noise,
            seed=nodes,
        )
        return scripted_backend("dask", script)(BackendOptions())


def plan(nodes: tuple[int, ...] = (4, 1, 2), **changes: object) -> NodeSweepPlan:
    base = NodeSweepPlan(
        workload=SCRIPTED_WORKLOAD,
        nodes=nodes,
        tasks_per_node=TASKS_PER_NODE,
        grain_s=GRAIN_S,
        settings=MeasureSettings(repeats=3, warmup=0),
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def test_sizes_run_smallest_first_and_records_carry_nodes_slice_and_scaling(
    tmp_path: Path,
) -> None:
    pool = ScriptedPool()
    output = tmp_path / "scale.json"
    with ResultsWriter(output, {"host": "here"}) as writer:
        run_node_sweep(plan(), pool, writer)
    assert pool.sizes == [1, 2, 4]
    records = load_results(output).records
    assert [(r.nodes, r.scaling) for r in records] == [
        (n, s) for n in (1, 2, 4) for s in ("strong", "weak")
    ]
    assert all(
        r.verified and r.node_cpus == 0.5 and r.node_memory_bytes == 1 << 30 for r in records
    )
    assert {r.tasks for r in records if r.scaling == "strong"} == {TASKS_PER_NODE * 4}
    assert [r.tasks for r in records if r.scaling == "weak"] == [4, 8, 16]


def test_strong_scaling_finds_the_scripted_serial_fraction_and_predicts_the_largest_size() -> None:
    results = run_node_sweep(plan(), ScriptedPool(), ResultsWriter(None, {}))
    strong = next(c for c in scaling_curves(results.records) if c.scaling is Scaling.STRONG)
    # T(N) = S + n·o + n·g/N: Amdahl's law exactly, with f the part no node shortens.
    tasks = TASKS_PER_NODE * 4
    fixed = START_S + tasks * PER_TASK_S
    assert strong.fit is not None
    assert strong.fit.serial_fraction == pytest.approx(fixed / (fixed + tasks * GRAIN_S), rel=1e-4)
    assert strong.held_out is not None and abs(strong.held_out.error) < 1e-4


def test_weak_scaling_without_dispatch_costs_is_linear() -> None:
    results = run_node_sweep(plan(), ScriptedPool(per_task_s=0.0), ResultsWriter(None, {}))
    weak = next(c for c in scaling_curves(results.records) if c.scaling is Scaling.WEAK)
    # Every size takes S + k·g: N times the work in the same time, Gustafson with α = 0.
    assert [p.speedup for p in weak.points] == pytest.approx([1.0, 2.0, 4.0])
    assert weak.fit is not None and weak.fit.serial_fraction == pytest.approx(0.0, abs=1e-6)


def test_with_noise_the_held_out_error_stays_near_the_noise() -> None:
    results = run_node_sweep(
        plan(nodes=(1, 2, 3, 4)), ScriptedPool(noise=0.02), ResultsWriter(None, {})
    )
    for curve in scaling_curves(results.records):
        assert curve.held_out is not None
        assert abs(curve.held_out.error) < 0.1


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"nodes": (2,)}, "two sizes"),
        ({"nodes": (0, 2)}, "at least 1"),
        ({"nodes": (2, 2)}, "each size once"),
        ({"tasks_per_node": 0}, "tasks-per-node"),
        ({"scalings": ()}, "strong, weak"),
    ],
)
def test_a_plan_that_cannot_make_a_curve_is_refused(
    changes: dict[str, object], message: str
) -> None:
    with pytest.raises(UsageError, match=message):
        plan(**changes)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--nodes", "2"], "at least two sizes"),
        (["--nodes", "1,1000", "--cpus", "1"], "CPUs; this host has"),
        (["--link-rate", "fast"], "not a link rate"),
    ],
)
def test_scale_refuses_bad_input_in_one_line_before_any_container(
    arguments: list[str], message: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    from dist_bench.cli import main

    output = tmp_path / "scale.json"
    with pytest.raises(SystemExit) as exited:
        main(["scale", "cpu", "-b", "dask", *arguments, "-o", str(output)])
    assert exited.value.code == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert message in line
    assert not output.exists()
