"""Each workload's headline in words: the ladder's steps up answered, and METG(50 %).

What the terminal summary opens a workload with and the reports repeat: where each step up
(threads, processes, a cluster) starts to pay along the grain, and the smallest grain each
backend runs at half its ideal efficiency.
"""

from __future__ import annotations

from dist_bench.costmodel import PRACTICAL_MARGIN, LadderStep, Metg, MetgKind, StepAnswer
from dist_bench.report.axis_text import (
    format_axis,
    format_location,
    format_span,
    unsettled_text,
)
from dist_bench.report.sentences import missing_evidence, reason_label
from dist_bench.units import format_seconds


def ladder_cell(step: LadderStep) -> str:
    """A step's answer in a few words, for a table cell (``from 1.2 ms``, ``always``)."""
    crossover = step.crossover
    low, high = (format_axis("grain_s", v) for v in crossover.shown_range)
    if step.answer is StepAnswer.PAYS_FROM:
        below, above = crossover.evidence_below, crossover.evidence_above
        pays = crossover.winner_above == step.upper
        if crossover.bracketed_only and below is not None and above is not None:
            where = f"{format_axis('grain_s', below.value)}–{format_axis('grain_s', above.value)}"
            return f"from {where}" if pays else f"up to {where}"
        where = format_axis("grain_s", crossover.value or 0.0)
        return f"from {where}" if pays else f"below {where}"
    if step.answer is StepAnswer.ABOUT_EQUAL and crossover.equal_span is not None:
        return "≈ " + format_span("grain_s", crossover.equal_span).removeprefix("from ")
    if step.answer is StepAnswer.PAYS_THROUGHOUT:
        return f"always (≥ {low})"
    if step.answer is StepAnswer.NEVER_PAYS:
        return f"never (≤ {high})"
    return "level" if step.answer is StepAnswer.LEVEL else "unclear"


def ladder_sentence(step: LadderStep) -> str:
    """One step up of the ladder answered in a sentence: where it pays, or why not in range."""
    crossover = step.crossover
    low, high = (format_axis("grain_s", v) for v in crossover.shown_range)
    head = f"{step.workload}, {step.lower} → {step.upper}:"
    beyond = "" if step.beyond is None else " (the fitted lines meet near "
    if step.beyond is not None:
        beyond += f"{format_seconds(step.beyond)}: an extrapolation, not measured)"
    if step.answer is StepAnswer.PAYS_FROM:
        pays = "pays" if crossover.winner_above == step.upper else "stops paying"
        return f"{head} {step.upper} {pays} from a grain of {format_location(crossover)}."
    if step.answer is StepAnswer.ABOUT_EQUAL and crossover.equal_span is not None:
        return (
            f"{head} about equal {format_span('grain_s', crossover.equal_span)} (no further "
            "apart than the run-to-run drift): no point where the step starts to pay."
        )
    if step.answer is StepAnswer.PAYS_THROUGHOUT:
        return (
            f"{head} {step.upper} pays at every measured grain, {low} to {high}: where it starts "
            f"to pay lies below the smallest grain measured{beyond}."
        )
    if step.answer is StepAnswer.NEVER_PAYS:
        return (
            f"{head} {step.upper} does not pay at any measured grain, {low} to {high}, because "
            f"{reason_label(crossover)}: it would start to pay above the largest grain "
            f"measured, or never{beyond}."
        )
    if step.answer is StepAnswer.LEVEL:
        return (
            f"{head} {crossover.winner_below} wins at the small grains and by {high} the two "
            f"run level (within {PRACTICAL_MARGIN:.0%})."
        )
    if crossover.unsettled:
        return f"{head} {unsettled_text(crossover)}: raise --repeats or --budget."
    low, high = (format_axis("grain_s", v) for v in crossover.searched)
    return (
        f"{head} the fitted lines cross between {low} and {high}, but the measurements do not "
        f"show it decisively: {missing_evidence(crossover)}; raise --budget."
    )


# ---------------------------------------------------------------------------------------------
# METG(50 %)


def metg_text(item: Metg) -> str:
    """A METG in few words: ``1.3 ms (552 µs – 5.6 ms)``, or where it lies off the range."""
    low, high = item.searched
    if item.kind is MetgKind.BELOW_RANGE:
        return f"below {format_seconds(low)} (at 50 % from the smallest grain)"
    if item.kind is MetgKind.NOT_REACHED or item.grain_s is None:
        best = item.best
        return (
            f"not reached up to {format_seconds(high)} "
            f"(best {best.efficiency:.0%} at {format_seconds(best.grain_s)})"
        )
    # As a crossover's interval reads: an end off the measured grains is open there.
    start, end = item.interval
    start_text = format_seconds(start) if start is not None else f"≤ {format_seconds(low)}"
    end_text = format_seconds(end) if end is not None else f"≥ {format_seconds(high)}"
    return f"{format_seconds(item.grain_s)} ({start_text} – {end_text})"


#: The terminal's METG grid: its title, saying how a cell reads.
METG_GRID_TITLE = "METG(50 %)  (> x: not reached by x; < x: below the range)"


def metg_cell(item: Metg) -> str:
    """A METG in a few words, for a table cell: ``3.8 ms``, ``> 44.1 ms``, ``< 3.8 ms``."""
    grains = [point.grain_s for point in item.points]
    if item.kind is MetgKind.REACHED and item.grain_s is not None:
        return format_seconds(item.grain_s)
    if item.kind is MetgKind.BELOW_RANGE:
        return f"< {format_seconds(min(grains))}"
    return f"> {format_seconds(max(grains))}"


def efficiency_text(item: Metg) -> str:
    """The efficiency measured at each grain of a METG's series: ``0.24 ms 9 %, 0.69 ms 31 %``."""
    return ", ".join(f"{format_seconds(p.grain_s)} {p.efficiency:.0%}" for p in item.points)
