"""Warnings as data: typed kinds with their values, each naming the flag to change."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from dist_bench.costmodel import analyse
from dist_bench.costmodel.warnings import (
    Outliers,
    ParallelismAboveWorkers,
    PoorFit,
    Unstable,
    WarningKind,
    WideInterval,
)
from dist_bench.report.sentences import flag_advice, warning_sentence
from dist_bench.results import Results, load_results
from tests.scripted_costs import SCRIPTS, grain_series

DATA = Path(__file__).parent / "data"


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


def test_warnings_are_typed_one_per_backend_with_their_values() -> None:
    # The saved real cutover (2 cores, under load): noisy enough to warn of every common kind.
    analysis = analyse(load_results(DATA / "golden_cutover.json"))
    kinds = {type(w) for w in analysis.warnings}
    assert kinds == {PoorFit, WideInterval, Outliers, Unstable}
    # Unstable shapes: one warning per (workload, backend), counting its shapes.
    unstable = [w for w in analysis.warnings if isinstance(w, Unstable)]
    assert len(unstable) == len({(w.workload, w.backend) for w in unstable})
    data_serial = next(w for w in unstable if (w.workload, w.backend) == ("data", "serial"))
    assert (data_serial.varying, data_serial.shapes) == (6, 8)
    assert data_serial.worst == pytest.approx(0.74, abs=0.005)
    assert data_serial.to_json()["kind"] == "UNSTABLE"
    (wide,) = [w for w in analysis.warnings if isinstance(w, WideInterval)]
    assert (wide.workload, wide.pair, wide.axis) == ("io", ("serial", "processes"), "tasks")
    assert warning_sentence(wide).endswith(f"of its value): {flag_advice(wide.kind)}")


def test_every_kind_names_its_flags_or_says_none_applies() -> None:
    assert WarningKind.WIDE_INTERVAL.flags == ("--repeats", "--budget")
    assert flag_advice(WarningKind.WIDE_INTERVAL) == "raise --repeats or --budget"
    assert WarningKind.PARALLELISM_ABOVE_WORKERS.flags == ()
    for kind in WarningKind:
        assert all(flag.startswith("--") for flag in kind.flags)
        assert flag_advice(kind)
