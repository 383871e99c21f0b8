"""Node sweeps in every report format: nodes and slice, the fits, the held-out check, the plot."""

from __future__ import annotations

import csv
import io
import json

import pytest

from dist_bench.node_sweep import run_node_sweep
from dist_bench.report import EXPORTERS
from dist_bench.report.content import ReportData
from dist_bench.report.table import results_tables
from dist_bench.results import Results
from dist_bench.results_writer import ResultsWriter
from tests.test_node_sweep import ScriptedPool, plan


@pytest.fixture(scope="module")
def sweep() -> Results:
    return run_node_sweep(plan(), ScriptedPool(), ResultsWriter(None, {"host": "here"}))


def rendered(results: Results, name: str, nodes: tuple[int, ...] = ()) -> bytes:
    return EXPORTERS[name].load()(ReportData(results, node_projections=nodes))


@pytest.mark.parametrize("name", ["md", "html"])
def test_the_text_reports_show_each_series_its_fit_and_check(sweep: Results, name: str) -> None:
    text = rendered(sweep, name, nodes=(16,)).decode()
    assert "Scaling over nodes" in text
    for series in ("strong", "weak"):
        assert f"scripted on dask: {series} scaling" in text
    assert "Amdahl" in text and "Gustafson" in text
    assert "Fitted without 4 nodes" in text
    assert "0.5 CPU, 1.0 GiB" in text  # each node's slice
    assert "PROJECTIONS, not measurements" in text and "16" in text


def test_the_csv_carries_nodes_slice_and_scaling(sweep: Results) -> None:
    rows = list(csv.DictReader(io.StringIO(rendered(sweep, "csv").decode())))
    assert [(r["nodes"], r["scaling"]) for r in rows] == [
        (str(n), s) for n in (1, 2, 4) for s in ("strong", "weak")
    ]
    assert {r["node_cpus"] for r in rows} == {"0.5"}
    assert {r["node_memory_bytes"] for r in rows} == {str(1 << 30)}


def test_the_json_keeps_the_node_fields(sweep: Results) -> None:
    records = json.loads(rendered(sweep, "json"))["records"]
    assert {(r["nodes"], r["scaling"]) for r in records} >= {(4, "strong"), (1, "weak")}


def test_the_terminal_shows_the_series_tables(sweep: Results) -> None:
    from rich.console import Console

    console = Console(width=160, record=True)
    console.print(results_tables(ReportData(sweep)))
    text = console.export_text()
    assert "scripted on dask: strong scaling" in text
    assert "dask on 4 node(s) of 0.5 CPU, 1.0 GiB (strong)" in text
    # Projected by default to twice and four times the largest size.
    assert "Projected speedups on more nodes" in text and " 16 " in text


@pytest.mark.parametrize("name", ["png", "svg"])
def test_a_sweep_alone_still_plots(sweep: Results, name: str) -> None:
    pytest.importorskip("matplotlib")
    image = rendered(sweep, name)
    assert image.startswith(b"\x89PNG") if name == "png" else b"speedup vs nodes" in image


def test_a_cost_model_projection_carries_the_held_out_error_of_a_sweep_in_the_file(
    sweep: Results,
) -> None:
    import dataclasses
    from pathlib import Path

    from dist_bench.costmodel import analyse
    from dist_bench.results import load_results
    from dist_bench.scaling import Scaling, scaling_curves

    golden = load_results(Path(__file__).parent / "data" / "golden_cutover.json")
    swept = [dataclasses.replace(r, workload="cpu", backend="processes") for r in sweep.records]
    combined = dataclasses.replace(golden, records=[*golden.records, *swept])
    (strong,) = [c for c in scaling_curves(swept) if c.scaling is Scaling.STRONG]
    assert strong.held_out is not None
    projections = analyse(combined, project_nodes=(2,)).projections
    by_workload = {p.workload: p for p in projections}
    assert by_workload["cpu"].held_out_error == pytest.approx(strong.held_out.error)
    assert by_workload["blas"].held_out_error is None  # no sweep of blas to check against
    # The sweep's records are no points of the cost fit: the cpu projection is unchanged.
    alone = {p.workload: p for p in analyse(golden, project_nodes=(2,)).projections}
    assert by_workload["cpu"].predicted_speedup == pytest.approx(alone["cpu"].predicted_speedup)


def test_a_serial_fraction_of_zero_caps_nothing_in_words() -> None:
    from dist_bench.report.scaling_sentences import scaling_sentence
    from dist_bench.scaling import Scaling, scaling_curves
    from tests.test_scaling import sweep_records

    (curve,) = scaling_curves(sweep_records(Scaling.STRONG, 0.0))
    sentence = scaling_sentence(curve)
    assert "none measurable" in sentence and "caps the speedup at" not in sentence
    (capped,) = scaling_curves(sweep_records(Scaling.STRONG, 0.1))
    assert "caps the speedup at 10.0x" in scaling_sentence(capped)
