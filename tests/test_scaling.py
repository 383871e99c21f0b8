"""The scaling maths: speedups, Karp–Flatt, Amdahl and Gustafson fits and their held-out checks."""

from __future__ import annotations

import dataclasses

import pytest

from dist_bench.results import Record
from dist_bench.scaling import (
    Law,
    Scaling,
    fit_law,
    law_speedup,
    median_held_out_error,
    project_nodes,
    scaling_curves,
)

NODES = (1, 2, 4, 8)


def sweep_records(
    scaling: Scaling, serial_fraction: float, nodes: tuple[int, ...] = NODES, base_s: float = 2.0
) -> list[Record]:
    """Records whose times follow the scaling's own law exactly, at ``serial_fraction``."""
    records = []
    for count in nodes:
        if scaling is Scaling.STRONG:
            wall = base_s * (serial_fraction + (1 - serial_fraction) / count)
        else:  # the scaled speedup count·T(1)/T(N) follows Gustafson
            speedup = count - serial_fraction * (count - 1)
            wall = count * base_s / speedup
        records.append(
            Record(
                workload="cpu",
                backend="dask",
                tasks=8 * (max(nodes) if scaling is Scaling.STRONG else count),
                grain_s=0.01,
                bytes_per_task=0,
                units=100,
                workers=count,
                wall_s=[wall] * 3,
                verified=True,
                nodes=count,
                node_cpus=0.5,
                node_memory_bytes=1 << 30,
                scaling=scaling.value,
            )
        )
    return records


@pytest.mark.parametrize("law", list(Law))
@pytest.mark.parametrize("fraction", [0.0, 0.05, 0.3])
def test_a_fit_recovers_the_serial_fraction_of_its_own_law(law: Law, fraction: float) -> None:
    speedups = [float(law_speedup(law, fraction, n)) for n in NODES]
    fit = fit_law(law, 1, NODES, speedups)
    assert fit.serial_fraction == pytest.approx(fraction, abs=1e-6)
    assert fit.speedup(16) == pytest.approx(float(law_speedup(law, fraction, 16)), rel=1e-6)


def test_a_fit_needs_two_sizes() -> None:
    with pytest.raises(ValueError, match="2 sizes"):
        fit_law(Law.AMDAHL, 1, [1], [1.0])


def test_strong_scaling_points_karp_flatt_and_a_perfect_held_out_check() -> None:
    (curve,) = scaling_curves(sweep_records(Scaling.STRONG, 0.1))
    assert [p.size for p in curve.points] == list(NODES)
    assert curve.points[0].speedup == 1.0 and curve.points[0].karp_flatt is None
    for point in curve.points[1:]:
        expected = 1 / (0.1 + 0.9 / point.size)
        assert point.speedup == pytest.approx(expected)
        assert point.efficiency == pytest.approx(expected / point.size)
        # Karp–Flatt of data that follows Amdahl is Amdahl's serial fraction at every size.
        assert point.karp_flatt == pytest.approx(0.1)
    assert curve.fit is not None and curve.fit.serial_fraction == pytest.approx(0.1, abs=1e-6)
    assert curve.held_out is not None and curve.held_out.size == 8
    assert curve.held_out.error == pytest.approx(0.0, abs=1e-6)
    assert curve.node_slice.cpus == 0.5 and curve.node_slice.memory_bytes == 1 << 30


def test_weak_scaling_is_fitted_with_gustafson() -> None:
    (curve,) = scaling_curves(sweep_records(Scaling.WEAK, 0.2))
    assert curve.fit is not None and curve.fit.law is Law.GUSTAFSON
    assert curve.fit.serial_fraction == pytest.approx(0.2, abs=1e-6)
    assert curve.points[-1].speedup == pytest.approx(8 - 0.2 * 7)
    assert all(p.karp_flatt is None for p in curve.points)


def test_the_held_out_error_is_the_smaller_fit_missing_the_largest_size() -> None:
    records = sweep_records(Scaling.STRONG, 0.1)
    # The largest size runs 25 % slower than Amdahl says: the fit on 1, 2, 4 promises too much.
    records[-1] = dataclasses.replace(records[-1], wall_s=[w * 1.25 for w in records[-1].wall_s])
    (curve,) = scaling_curves(records)
    assert curve.held_out is not None
    assert curve.held_out.error == pytest.approx(0.25, rel=1e-3)
    assert median_held_out_error([curve]) == pytest.approx(0.25, rel=1e-3)


def test_projections_carry_the_held_out_error_and_two_sizes_have_none() -> None:
    curves = scaling_curves(
        sweep_records(Scaling.STRONG, 0.1) + sweep_records(Scaling.WEAK, 0.1, nodes=(1, 2))
    )
    projections = {(p.scaling, p.nodes): p for p in project_nodes(curves, [16, 32])}
    strong = projections[Scaling.STRONG, 32]
    assert strong.predicted_speedup == pytest.approx(1 / (0.1 + 0.9 / 32), rel=1e-5)
    assert strong.held_out_error == pytest.approx(0.0, abs=1e-6)
    assert projections[Scaling.WEAK, 16].held_out_error is None
    assert median_held_out_error([c for c in curves if c.scaling is Scaling.WEAK]) is None


def test_records_outside_a_sweep_and_failed_ones_make_no_curve() -> None:
    plain = dataclasses.replace(sweep_records(Scaling.STRONG, 0.1)[0], nodes=None, scaling=None)
    failed = [dataclasses.replace(r, error="boom") for r in sweep_records(Scaling.WEAK, 0.1)]
    assert scaling_curves([plain, *failed]) == []


def test_a_sweep_appended_with_another_calibration_pools_per_unit_of_work() -> None:
    # A second sweep of the same series, calibrated to twice the units (its jobs twice as
    # long), appended to the file; only its largest size is kept, so it moves one median only.
    first = sweep_records(Scaling.STRONG, 0.1)
    second = [
        dataclasses.replace(r, units=2 * r.units, wall_s=[2 * t for t in r.wall_s])
        for r in first[-1:]
    ]
    [alone] = scaling_curves(first)
    [appended] = scaling_curves(first + second)
    assert [p.speedup for p in appended.points] == pytest.approx([p.speedup for p in alone.points])
    assert [p.wall_s for p in appended.points] == pytest.approx([p.wall_s for p in alone.points])
