"""Crossovers: within 10 % of the scripted truth, and only where the measurements show them."""

from __future__ import annotations

import pytest

from dist_bench.costmodel import Crossover, CrossoverKind, CutoverAnalysis, StepAnswer, analyse
from dist_bench.costmodel.ladder import ladder
from dist_bench.report.axis_text import format_axis, format_location
from dist_bench.report.headline_sentences import ladder_sentence
from dist_bench.report.sentences import crossover_sentence
from dist_bench.results import Results
from tests.scripted_costs import grain_crossover, grain_sentence, grain_series, true_crossover


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
        assert f"decisively faster at {format_axis('grain_s', item.value)}" in sentence


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
    assert "at no measured shape is either decisively faster" in sentence


def bracket(crossover: Crossover) -> str:
    """``between X and Y``: the two evidence points, the lower first."""
    below, above = crossover.evidence_below, crossover.evidence_above
    assert below is not None and above is not None
    assert below.value < above.value
    low, high = (format_axis("grain_s", end.value) for end in (below, above))
    return f"between {low} and {high}"


def bracketed_sentence(results: Results) -> str:
    """The grain crossover's sentence, checked to give only the measured bracket."""
    crossing = grain_crossover(results)
    assert crossing.kind is CrossoverKind.BRACKETED
    sentence = grain_sentence(results)
    assert bracket(crossing) in sentence
    # The model's number is not given as the location.
    assert "from a grain of" not in sentence
    return sentence


def test_where_the_model_is_rough_the_crossover_is_bracketed_by_the_measurements() -> None:
    bent = grain_series(spread=1.01, bends=(2.5, 1.0, 0.5, 1.4, 0.4, 1.6))
    found = grain_crossover(bent)
    processes = analyse(bent).fit_for("scripted", "processes")
    assert processes is not None and processes.holdout_error is not None
    assert processes.holdout_error > 0.25
    assert found.reached and found.rough
    sentence = bracketed_sentence(bent)
    assert "rough here" in sentence
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
    assert "where the measurements show the other order" in bracketed_sentence(measured)
    assert format_location(crossing) == f"{bracket(crossing)} (measured; model outside)"


def _from(results: Results, grain: float, drop: tuple[str, float] | None = None) -> Results:
    """The records at ``grain`` and above, less one backend's record at one grain."""
    kept = [
        r
        for r in results.records
        if r.grain_s >= grain and (drop is None or (r.backend, r.grain_s) != drop)
    ]
    return Results({}, [], kept)


def test_one_backend_faster_throughout_is_claimed_only_over_the_shapes_both_measured() -> None:
    # Above the scripted crossing processes wins everywhere; processes' largest grain dropped,
    # so serial alone reaches 16 ms: "all the way" may only cover what both measured.
    results = _from(grain_series(spread=1.01), 0.002, drop=("processes", 0.016))
    found = grain_crossover(results)
    assert found.kind is CrossoverKind.NOT_REACHED
    assert found.winner_below == found.winner_above == "processes"
    assert found.compared is not None
    assert found.compared[1] == pytest.approx(0.008, rel=0.01)
    assert found.compared[1] < found.searched[1]
    sentence = grain_sentence(results)
    assert f"to {format_axis('grain_s', found.compared[1])}" in sentence
    assert format_axis("grain_s", found.searched[1]) not in sentence


@pytest.mark.parametrize("slower", [1.6, 3.0])
def test_no_winner_throughout_is_claimed_where_a_shape_measured_the_other_way(
    slower: float,
) -> None:
    # The same shapes with processes made ``slower`` times slower at 4 ms only: the fitted lines
    # still do not cross in the range, but serial's median is the lower there.
    bends = (1.0, 1.0, 1.0, slower, 1.0, 1.0)
    results = _from(grain_series(spread=1.01, bends=bends), 0.002)
    found = grain_crossover(results)
    assert found.kind is CrossoverKind.UNSETTLED
    assert found.unsettled and found.split
    sentence = grain_sentence(results)
    assert "all the way" in sentence and "do not show either faster" in sentence
    assert "beats" not in sentence
    steps = [s for s in ladder([found]) if (s.lower, s.upper) == ("serial", "processes")]
    assert [s.answer for s in steps] == [StepAnswer.UNCLEAR]
    assert "neither faster throughout" in ladder_sentence(steps[0])
