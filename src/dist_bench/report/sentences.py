"""The cutover analysis's crossovers and warnings in words: the one place that says them.

The analysis (``costmodel``) returns data: kinds with their values. Each crossover's sentence
(with its reason and the measurements that show it) and each warning's (with the flags its kind
names) are written here, so every format says the same thing and nothing parses a sentence
back. Each record's finding is worded by ``record_sentences``, the lessons by
``lesson_sentences``, the ladder and METG by ``headline_sentences``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from dist_bench.costmodel import (
    AXES,
    AXIS_NAMES,
    PRACTICAL_MARGIN,
    AnalysisWarning,
    CostFit,
    Crossover,
    CrossoverKind,
    CutoverAnalysis,
    Reason,
    WarningKind,
)
from dist_bench.costmodel.warnings import (
    BudgetRanOut,
    Outliers,
    ParallelismAboveWorkers,
    PoorFit,
    Unstable,
    WideInterval,
)
from dist_bench.execution import Execution, execution_of, holds_gil
from dist_bench.report.axis_text import (
    format_axis,
    format_interval,
    format_span,
    unsettled_text,
)
from dist_bench.units import format_bytes, format_seconds
from dist_bench.workload import TaskNature, declared_workload


def crossover_sentence(crossover: Crossover, fits: Sequence[CostFit]) -> str:
    """The crossover in one plain sentence, with its reason and the measurements that show it.

    ``fits`` holds the two backends' fits on its workload (any others are passed over): the
    sentence quotes the costs that decide it.
    """
    loser = next(b for b in crossover.backends if b != crossover.winner_below)
    light, heavy = (
        next(f for f in fits if f.workload == crossover.workload and f.backend == backend)
        for backend in (crossover.winner_below, loser)
    )
    axis = crossover.axis
    at = _held_at(crossover)
    low, high = (format_axis(axis, v) for v in crossover.searched)
    why = _why(crossover, light, heavy)
    kind = crossover.kind
    if kind is CrossoverKind.ABOUT_EQUAL and crossover.equal_span is not None:
        first, second = crossover.backends
        return (
            f"{crossover.workload}: {first} and {second} are about equal "
            f"{format_span(axis, crossover.equal_span)} ({at}): their fitted lines cross in "
            f"between {low} and {high}, but as shallowly as two nearly parallel lines, and "
            "measured there the two differ by no more than the run-to-run drift (at least "
            f"{PRACTICAL_MARGIN:.0%}), so no crossover point is claimed."
        )
    if kind is CrossoverKind.UNSHOWN:
        return (
            f"{crossover.workload}: the cost model has {crossover.winner_above} overtake "
            f"{crossover.winner_below} at {format_axis(axis, crossover.model_value or 0.0)} "
            f"({at}), but this is not shown by the measurements between {low} and {high}: "
            f"{missing_evidence(crossover)}; raise --repeats or --budget."
        )
    if kind is CrossoverKind.UNSETTLED:
        first, second = crossover.backends
        return (
            f"{crossover.workload}: the cost model has no crossover between {first} and "
            f"{second} from {low} to {high} ({at}), but the measurements do not show either "
            f"faster all the way: {unsettled_text(crossover)}; raise --repeats or --budget."
        )
    low, high = (format_axis(axis, v) for v in crossover.shown_range)
    if kind is CrossoverKind.LEVEL:
        return (
            f"{crossover.workload}: {light.backend} beats {heavy.backend} at {low} "
            f"({at}), and by {high} the two run level (within {PRACTICAL_MARGIN:.0%}): "
            f"no crossover; {why}."
        )
    if kind is CrossoverKind.NOT_REACHED:
        return (
            f"{crossover.workload}: {crossover.winner_below} beats {heavy.backend} all the way "
            f"from {low} to {high} ({at}), no crossover there: {why}."
        )
    shown = _evidence_words(crossover)
    below, above = crossover.evidence_below, crossover.evidence_above
    if kind is CrossoverKind.BRACKETED and below is not None and above is not None:
        # A number from the model would be precise-looking noise where it misses its own
        # held-out points badly, or wrong where it falls on a shape measured the other way
        # round; the two measured shapes are what is known.
        if crossover.rough:
            error = max(fit.holdout_error or 0.0 for fit in (light, heavy))
            model = f"the cost model is rough here (held-out error {error:.0%})"
        else:
            model = (
                f"the cost model puts it at {format_axis(axis, crossover.model_value or 0.0)}, "
                "where the measurements show the other order"
            )
        return (
            f"{crossover.workload}: {crossover.winner_above} overtakes {crossover.winner_below} "
            f"somewhere between {format_axis(axis, below.value)} and "
            f"{format_axis(axis, above.value)} ({at}), as measured: {shown}; {model}, so it "
            f"gives no closer estimate; below that {crossover.winner_below} wins because {why}."
        )
    where = format_axis(axis, crossover.value or 0.0)
    if crossover.interval is not None:
        where += f" (95 % interval {format_interval(crossover)})"
    lead = {"grain_s": f"from a grain of {where}", "tasks": f"from {where}"}.get(
        axis, f"from {where} per task"
    )
    return (
        f"{crossover.workload}: {crossover.winner_above} beats {crossover.winner_below} {lead} "
        f"({at}); below that {crossover.winner_below} wins because {why}. Measured: {shown}."
    )


def finding_sentences(analysis: CutoverAnalysis) -> list[str]:
    """Every crossover's sentence, most useful first (those reached, then the rest)."""
    return [crossover_sentence(c, analysis.fits) for c in analysis.ordered_crossovers()]


def _evidence_words(crossover: Crossover) -> str:
    """The two evidence points in words: who was clearly faster where, by how much."""
    parts = []
    for item in (crossover.evidence_below, crossover.evidence_above):
        if item is not None:
            parts.append(
                f"{item.faster} decisively faster at {format_axis(crossover.axis, item.value)} "
                f"({format_seconds(item.faster_s)} vs {format_seconds(item.slower_s)}, apart "
                f"by more than {item.floor:.0%}, the floor of drift and margin)"
            )
    return ", ".join(parts)


def missing_evidence(crossover: Crossover) -> str:
    """Why the measurements do not show a crossover the model puts in the range."""
    below, above = crossover.evidence_below, crossover.evidence_above
    clearly = (
        "decisively faster (the two medians' intervals apart, by more than the run-to-run "
        "drift, in every round)"
    )
    if below is None and above is None:
        return f"at no measured shape is either {clearly}"
    if below is None:
        return f"at no measured shape is {crossover.winner_below} {clearly}"
    if above is None:
        return f"at no measured shape is {crossover.winner_above} {clearly}"
    return (
        f"the measurements disagree with one crossing ({_evidence_words(crossover)}, "
        "in the wrong order)"
    )


def _held_at(crossover: Crossover) -> str:
    parts = []
    for axis in AXES:
        if axis != crossover.axis and not (
            axis == "bytes_per_task" and not crossover.at.bytes_per_task
        ):
            parts.append(format_axis(axis, crossover.at.value(axis)))
    return "at " + ", ".join(parts)


def _possessive(name: str) -> str:
    return f"{name}'" if name.endswith("s") else f"{name}'s"


def reason_label(crossover: Crossover) -> str:
    """The crossover's reason as a table shows it, true for its workload.

    The cost model names the cost that decides (``Crossover.reason``) without knowing what the
    tasks do: a shared-memory backend ahead on tasks that wait wins by concurrency, one on code
    that releases the GIL is not held back by the GIL, and asyncio is held back by its one event
    loop.
    """
    nature = _declared_nature(crossover.workload)
    reason = _true_reason(crossover)
    if reason == "parallelism" and nature is TaskNature.WAITS:
        return "concurrency"
    if reason == "GIL" and not holds_gil(nature):
        return "concurrency" if nature is TaskNature.WAITS else "dispatch overhead"
    if reason == "GIL" and execution_of(crossover.winner_below, {}) is (Execution.EVENT_LOOP):
        # One event loop caps asyncio whatever the GIL does.
        return "event loop"
    return reason


def _true_reason(crossover: Crossover) -> Reason:
    """The cost model's reason, unless it blames moving bytes on a backend that moves none.

    A backend in the driver's memory (serial, threads, asyncio) pickles and sends nothing: its
    per-byte cost is the work on the bytes, so a faster rival beat it by running that work side
    by side.
    """
    loser = next(b for b in crossover.backends if b != crossover.winner_below)
    in_driver = execution_of(loser, {}) in (
        Execution.SERIAL,
        Execution.THREADS,
        Execution.EVENT_LOOP,
    )
    if crossover.reason in ("pickling", "bandwidth") and in_driver:
        return "parallelism"
    return crossover.reason


def _declared_nature(workload: str) -> TaskNature | None:
    declared = declared_workload(workload)
    return declared.nature if declared is not None else None


def _why(crossover: Crossover, light: CostFit, heavy: CostFit) -> str:
    reason = _true_reason(crossover)
    nature = _declared_nature(crossover.workload)
    at_once = _at_once(light)
    if reason == "GIL":
        dispatch = (
            f"{heavy.backend} pays {format_seconds(heavy.per_task_overhead_s)} per task to "
            "dispatch, while "
        )
        if nature is TaskNature.WAITS:
            return f"{dispatch}{light.backend} overlaps {at_once} tasks' waits (concurrency)"
        if not holds_gil(nature):
            return (
                f"{dispatch}{light.backend}, sharing the driver's memory, pays next to nothing "
                f"and ran {at_once} tasks' work at once (the code releases the GIL, so the "
                "cores, not the GIL, cap it)"
            )
        light_runs = execution_of(
            light.backend, {"shares_memory": light.shares_memory, "remote": light.remote}
        )
        # One task at a time by construction: a fitted P_eff above 1 is the noise of a slow
        # serial run, never parallelism, and quoting it as a cap would teach the opposite.
        one_at_a_time = (
            "one event loop runs one coroutine at a time"
            if light_runs is Execution.EVENT_LOOP
            else f"the GIL lets one of {_possessive(light.backend)} {light.workers} workers run "
            "Python at a time"
        )
        fitted = (
            ""
            if float(at_once) <= 1.0
            else (f" (its fitted {at_once}x is a slow serial run or noise, not parallelism)")
        )
        return f"{dispatch}{one_at_a_time}{fitted}"
    if reason == "start-up":
        return f"{heavy.backend} needs {format_seconds(heavy.startup_s)} to start each job"
    if reason in ("pickling", "bandwidth"):
        verb = "pickles" if reason == "pickling" else "moves"
        rate = heavy.bandwidth_bytes_per_s
        speed = f" at {format_bytes(round(rate))}/s" if rate else ""
        return f"{heavy.backend} {verb} every task's data{speed} ({reason})"
    if reason == "dispatch overhead":
        gain = (
            "the waits it overlaps"
            if nature is TaskNature.WAITS
            else "the work it runs in parallel"
        )
        return (
            f"{_possessive(heavy.backend)} dispatch overhead of "
            f"{format_seconds(heavy.per_task_overhead_s)} per task outweighs {gain}"
        )
    if nature is TaskNature.WAITS:
        return f"{light.backend} overlaps {at_once} tasks' waits at once (concurrency)"
    return f"{light.backend} runs {at_once} tasks' work at once (parallelism)"


def _at_once(fit: CostFit) -> str:
    """P_eff for a sentence, at most the workers: a fit above them identifies nothing more."""
    value = fit.effective_parallelism
    return f"{min(value, fit.workers):.1f}" if math.isfinite(value) else f"{fit.workers:.1f}"


# ---------------------------------------------------------------------------------------------
# Warnings


def flag_advice(kind: WarningKind) -> str:
    """What to change for a kind of warning: ``raise --repeats or --budget``."""
    if not kind.flags:
        return "no flag changes it: read the number as fitted"
    return "raise " + " or ".join(kind.flags)


def warning_sentence(warning: AnalysisWarning) -> str:
    """The warning in one sentence: what is shaky, by how much, and the flag to change."""
    if isinstance(warning, ParallelismAboveWorkers):
        return _parallelism_sentence(warning)
    advice = flag_advice(warning.kind)
    if isinstance(warning, Outliers):
        return (
            f"{warning.where}: {warning.count} outlier run(s) (far from the others: another "
            f"program likely interfered); medians resist them, but {advice} to be sure"
        )
    # Drift between runs is the machine's as much as the backend's: a quiet machine helps too.
    drift = isinstance(warning, Unstable) or (
        isinstance(warning, BudgetRanOut) and bool(warning.unrepeated)
    )
    quiet = ", or measure when the machine is quiet" if drift else ""
    return f"{_shaky(warning)}: {advice}{quiet}"


def _shaky(warning: AnalysisWarning) -> str:
    """What a warning with a flag to change says is shaky, and by how much."""
    if isinstance(warning, BudgetRanOut) and warning.unrepeated:
        return (
            f"the budget of {warning.budget_s:.0f} s ran out before a second round measured "
            f"{', '.join(warning.unrepeated)} again: their run-to-run drift is unknown, and "
            "shapes measured in one round are never decisive, so no crossover involving them "
            "is reported"
        )
    if isinstance(warning, BudgetRanOut):
        return (
            f"the budget of {warning.budget_s:.0f} s ran out before every series was measured "
            "(the most expensive points were skipped)"
        )
    if isinstance(warning, PoorFit):
        return (
            f"{warning.where}: the cost model misses held-out points by "
            f"{warning.holdout_error:.0%} (median); its crossovers are rough"
        )
    if isinstance(warning, WideInterval):
        return (
            f"{warning.workload}: the {'/'.join(warning.pair)} crossover along "
            f"{AXIS_NAMES[warning.axis]} is uncertain (interval {warning.width:.0%} of its value)"
        )
    if isinstance(warning, Unstable):
        return (
            f"{warning.where}: {warning.varying} of {warning.shapes} shapes vary by more than "
            f"{warning.threshold:.0%} between runs (up to {warning.worst:.0%})"
        )
    raise TypeError(f"no sentence for {type(warning).__name__}")


def _parallelism_sentence(warning: ParallelismAboveWorkers) -> str:
    """A fitted P_eff above the workers: the measured cause, or the model stretched."""
    lead = f"{warning.where}: P_eff {warning.parallelism:.2f} exceeds its {warning.workers} workers"
    if warning.faster_share is not None:
        return (
            f"{lead}: its tasks ran {warning.faster_share:.0%} faster there than in the "
            f"serial run (median over {warning.shapes} shapes), so that much of its speedup "
            "is the difference between the driver and the workers, not parallelism"
        )
    return f"{lead}: the linear model is stretched here; read P_eff as a fitted value"


def never_crossing_note(count: int) -> str:
    """The line standing for the pairs that never cross in the measured range."""
    return (
        f"{count} more pair(s) and axes never cross in the measured range (one backend faster "
        "throughout): the HTML and JSON reports list each with its reason."
    )


def same_kind_note(count: int, places: str) -> str:
    """The line under a warning standing for ``count`` more of its kind (the HTML lists each)."""
    return f"{count} more of this kind (each in the HTML report): {places}"
