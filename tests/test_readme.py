"""The README's own-workload example really runs, as written."""

from __future__ import annotations

import re
from pathlib import Path

from dist_bench.measure import MeasureSettings
from dist_bench.results_writer import ResultsWriter
from dist_bench.sweep import run_sweep
from dist_bench.sweep_plan import SizeGrid, SweepPlan
from dist_bench.workload import load_workload_file

README = Path(__file__).resolve().parents[1] / "README.md"


def test_the_readme_workload_example_runs_and_verifies(tmp_path: Path) -> None:
    section = README.read_text().split("## Your own workload", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert code is not None, "the README lost its workload example"
    path = tmp_path / "collatz.py"
    path.write_text(code.group(1))
    workload = load_workload_file(path)
    plan = SweepPlan(
        workloads=[workload],
        backends=["threads", "processes"],
        sizes=SizeGrid(tasks=[4], grain_s=[0.002]),
        settings=MeasureSettings(repeats=2, warmup=0),
    )
    results = run_sweep(plan, ResultsWriter(None, {}))
    assert [r.backend for r in results.records] == ["serial", "threads", "processes"]
    assert all(r.verified for r in results.records)
