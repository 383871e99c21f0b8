"""compare: real changes beyond noise are flagged, noise and small shifts are not.

The inputs are the records of a small real run; the "after" files change them in known ways
(every sample scaled, or scattered), so each test knows what the verdict must be.
"""

from __future__ import annotations

import copy
import dataclasses
from pathlib import Path

import pytest

from dist_bench.cli import main
from dist_bench.compare import Change, compare
from dist_bench.results import Record, Results


def scaled(results: Results, factor: float, backend: str | None = None) -> Results:
    """A copy of ``results`` with every sample of ``backend`` (or of all) times ``factor``."""
    changed = copy.deepcopy(results)
    changed.records = [
        dataclasses.replace(r, wall_s=[t * factor for t in r.wall_s])
        if backend in (None, r.backend)
        else r
        for r in changed.records
    ]
    return changed


def beyond_spread(results: Results) -> float:
    """A factor that moves every sample past the whole range of its record's samples.

    Timings taken on a busy machine vary a lot; a shift larger than a record's full range
    (max / min) is a change no noise in that record can explain.
    """
    return 1.2 * max(max(r.wall_s) / min(r.wall_s) for r in results.records)


def verdicts(before: Results, after: Results) -> dict[tuple[str, float], Change]:
    return {(p.record.backend, p.record.grain_s): p.change for p in compare(before, after).pairs}


def test_the_same_file_has_no_change(swept_results: Results) -> None:
    comparison = compare(swept_results, swept_results)
    assert {p.change for p in comparison.pairs} == {Change.SAME}
    assert len(comparison.pairs) == len(swept_results.records)
    assert all(
        p.interval is not None and p.interval.low <= 1.0 <= p.interval.high
        for p in comparison.pairs
    )
    assert not comparison.warnings


def test_a_real_slowdown_is_flagged_and_only_where_it_happened(swept_results: Results) -> None:
    factor = beyond_spread(swept_results)
    after = scaled(swept_results, factor, backend="processes")
    for (backend, _), change in verdicts(swept_results, after).items():
        assert change is (Change.SLOWER if backend == "processes" else Change.SAME)
    pairs = compare(swept_results, after).pairs
    slower = [p for p in pairs if p.change is Change.SLOWER]
    assert len(slower) == 2
    assert all(
        p.ratio == pytest.approx(factor) and p.interval and p.interval.low > 1 for p in slower
    )


def test_a_speedup_is_flagged_as_faster(swept_results: Results) -> None:
    faster = scaled(swept_results, 1 / beyond_spread(swept_results))
    assert set(verdicts(swept_results, faster).values()) == {Change.FASTER}


def test_a_shift_below_the_threshold_is_not_a_change(swept_results: Results) -> None:
    comparison = compare(swept_results, scaled(swept_results, 1.02), threshold=0.05)
    assert {p.change for p in comparison.pairs} == {Change.SAME}
    assert all(p.ratio == pytest.approx(1.02) for p in comparison.pairs)
    # The same shift counts once the threshold is below it and the interval excludes 1.
    strict = compare(swept_results, scaled(swept_results, 1.02), threshold=0.01)
    assert all(
        p.change is Change.SLOWER
        for p in strict.pairs
        if p.interval is not None and p.interval.low > 1.0
    )


def test_noise_wider_than_the_shift_is_not_a_change(swept_results: Results) -> None:
    # Samples scattered from half to twice the original: the median moves, but the bootstrap
    # interval of the ratio spans 1, so the shift cannot be told from noise.
    spread = [0.5, 0.6, 1.7, 1.8, 2.0, 0.55]
    after = copy.deepcopy(swept_results)
    after.records = [
        dataclasses.replace(r, wall_s=[t * f for t, f in zip(r.wall_s, spread, strict=True)])
        for r in after.records
    ]
    pairs = compare(swept_results, after).pairs
    assert all(p.interval is not None and p.interval.low < 1.0 < p.interval.high for p in pairs)
    assert any(p.ratio is not None and abs(p.ratio - 1.0) > 0.05 for p in pairs)
    assert {p.change for p in pairs} == {Change.SAME}


def test_new_missing_and_broken_rows_and_other_hosts(swept_results: Results) -> None:
    after = copy.deepcopy(swept_results)
    after.metadata["host"] = "elsewhere"
    after.records = [r for r in after.records if r.backend != "threads"]
    first = after.records[-1]
    after.records[-1] = dataclasses.replace(first, verified=False)
    after.records.append(dataclasses.replace(first, backend="dask", workers=2))
    comparison = compare(swept_results, after)
    changes = {(p.record.backend, p.record.grain_s): p.change for p in comparison.pairs}
    assert [c for (b, _), c in changes.items() if b == "threads"] == [Change.MISSING] * 2
    assert changes[("dask", first.grain_s)] is Change.NEW
    assert changes[(first.backend, first.grain_s)] is Change.BROKEN
    assert [p.change for p in comparison.regressions] == [Change.BROKEN]
    assert any("different hosts" in warning for warning in comparison.warnings)


def test_compare_command_exit_codes(
    swept_results: Results, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before, same, slower, faster = (tmp_path / f"{n}.json" for n in ("a", "b", "c", "d"))
    before.write_text(swept_results.dumps())
    same.write_text(swept_results.dumps())
    factor = beyond_spread(swept_results)
    slower.write_text(scaled(swept_results, factor).dumps())
    faster.write_text(scaled(swept_results, 1 / factor).dumps())
    assert _exit_code(["compare", str(before), str(same)]) == 0
    assert "no change" in capsys.readouterr().out
    assert _exit_code(["compare", str(before), str(faster)]) == 0
    assert _exit_code(["compare", str(before), str(slower)]) == 1
    captured = capsys.readouterr()
    assert "slower" in captured.out and "regression" in captured.err
    above = str(100 * factor + 1)  # a threshold above the change lets it pass
    assert _exit_code(["compare", str(before), str(slower), "--threshold", above]) == 0
    assert _exit_code(["compare", str(before), str(tmp_path / "missing.json")]) == 2


def _exit_code(arguments: list[str]) -> int:
    with pytest.raises(SystemExit) as exited:
        main(arguments)
    code = exited.value.code
    return code if isinstance(code, int) else 1


def test_records_pair_by_workload_backend_and_size() -> None:
    from dist_bench.compare import pair_key

    record = Record("cpu", "threads", 4, 0.001, 0, 10, 6)
    assert pair_key(record) == ("cpu", "threads", 4, 0.001, 0)
    assert pair_key(dataclasses.replace(record, workers=2)) == pair_key(record)
    assert pair_key(dataclasses.replace(record, grain_s=0.002)) != pair_key(record)
