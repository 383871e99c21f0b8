"""Every sentence of an analysis, in one place: crossovers, warnings and each record's finding.

The analysis (``costmodel``, ``analysis``) returns data: kinds with their values. This module is
the only one that puts them in words, so every format says the same thing and nothing parses a
sentence back.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from dist_bench.analysis import (
    Execution,
    FindingKind,
    RecordWarning,
    RecordWarningKind,
    Summary,
    execution_of,
    holds_gil,
)
from dist_bench.costmodel import (
    AXES,
    AXIS_NAMES,
    PRACTICAL_MARGIN,
    AnalysisWarning,
    Axis,
    CostFit,
    Crossover,
    CrossoverKind,
    CutoverAnalysis,
    LadderStep,
    Metg,
    MetgKind,
    Reason,
    StepAnswer,
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
from dist_bench.lessons import Cause, Check, Expect, Lesson, Verdict, WorkloadLesson
from dist_bench.runtime import RuntimeInfo
from dist_bench.scaling import Law, Scaling, ScalingCurve
from dist_bench.units import format_bytes, format_seconds
from dist_bench.workload import TaskNature, declared_workload

# ---------------------------------------------------------------------------------------------
# Crossovers


def format_axis(axis: Axis, value: float) -> str:
    """A value on ``axis`` for a sentence (``1.2 ms``, ``40 tasks``, ``1.0 MiB``)."""
    if axis == "grain_s":
        return format_seconds(value)
    if axis == "tasks":
        return f"{value:.0f} tasks"
    return format_bytes(round(value))


def format_interval(crossover: Crossover) -> str:
    """The crossover's interval; an end clipped at the searched range reads as open there."""
    interval = crossover.interval
    if interval is None:
        return "-"
    low, high = crossover.searched
    axis = crossover.axis
    start = (
        f"≤ {format_axis(axis, low)}" if interval.low <= low else format_axis(axis, interval.low)
    )
    end = (
        f"≥ {format_axis(axis, high)}"
        if interval.high >= high
        else format_axis(axis, interval.high)
    )
    return f"{start} – {end}"


def format_location(crossover: Crossover) -> str:
    """Where a reached crossover lies: the estimate and its interval, or the measured bracket."""
    below, above = crossover.evidence_below, crossover.evidence_above
    if crossover.equal_span is not None:
        return "about equal " + format_span(crossover.axis, crossover.equal_span)
    if crossover.bracketed_only and below is not None and above is not None:
        ends = (format_axis(crossover.axis, e.value) for e in (below, above))
        why = "model rough" if crossover.rough else "model outside"
        return "between {} and {} (measured; {})".format(*ends, why)
    text = format_axis(crossover.axis, crossover.value or 0.0)
    return text if crossover.interval is None else f"{text} ({format_interval(crossover)})"


def format_span(axis: Axis, span: tuple[float, float]) -> str:
    """``from 1.0 ms to 5.0 ms``, or ``at 1.0 ms`` for a single measured shape."""
    low, high = (format_axis(axis, v) for v in span)
    return f"at {low}" if low == high else f"from {low} to {high}"


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
            f"{_missing_evidence(crossover)}; raise --repeats or --budget."
        )
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


def ladder_cell(step: LadderStep) -> str:
    """A step's answer in a few words, for a table cell (``from 1.2 ms``, ``always``)."""
    crossover = step.crossover
    low, high = (format_axis("grain_s", v) for v in crossover.searched)
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
    low, high = (format_axis("grain_s", v) for v in crossover.searched)
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
    return (
        f"{head} the fitted lines cross between {low} and {high}, but the measurements do not "
        f"show it decisively: {_missing_evidence(crossover)}; raise --budget."
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


def _missing_evidence(crossover: Crossover) -> str:
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
        if light_runs is Execution.EVENT_LOOP:
            return (
                f"{dispatch}one event loop runs one coroutine at a time, capping "
                f"{light.backend} at {at_once}x"
            )
        return (
            f"{dispatch}the GIL only caps {light.backend} at {at_once}x of its "
            f"{light.workers} workers"
        )
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
    if isinstance(warning, BudgetRanOut) and warning.unrepeated:
        return (
            f"the budget of {warning.budget_s:.0f} s ran out before a second round measured "
            f"{', '.join(warning.unrepeated)} again: their run-to-run drift is unknown, and "
            "shapes measured in one round are never decisive, so no crossover involving them "
            f"is reported: {flag_advice(warning.kind)}, or measure when the machine is quiet"
        )
    if isinstance(warning, BudgetRanOut):
        return (
            f"the budget of {warning.budget_s:.0f} s ran out before every series was measured "
            f"(the most expensive points were skipped): {flag_advice(warning.kind)}"
        )
    if isinstance(warning, PoorFit):
        return (
            f"{warning.where}: the cost model misses held-out points by "
            f"{warning.holdout_error:.0%} (median); its crossovers are rough: "
            f"{flag_advice(warning.kind)}"
        )
    if isinstance(warning, ParallelismAboveWorkers):
        lead = (
            f"{warning.where}: P_eff {warning.parallelism:.2f} exceeds its "
            f"{warning.workers} workers"
        )
        if warning.faster_share is not None:
            return (
                f"{lead}: its tasks ran {warning.faster_share:.0%} faster there than in the "
                f"serial run (median over {warning.shapes} shapes), so that much of its speedup "
                "is the difference between the driver and the workers, not parallelism"
            )
        return f"{lead}: the linear model is stretched here; read P_eff as a fitted value"
    if isinstance(warning, WideInterval):
        return (
            f"{warning.workload}: the {'/'.join(warning.pair)} crossover along "
            f"{AXIS_NAMES[warning.axis]} is uncertain (interval {warning.width:.0%} of its "
            f"value): {flag_advice(warning.kind)}"
        )
    if isinstance(warning, Outliers):
        return (
            f"{warning.where}: {warning.count} outlier run(s) (far from the others: another "
            f"program likely interfered); medians resist them, but {flag_advice(warning.kind)} to "
            "be sure"
        )
    if isinstance(warning, Unstable):
        return (
            f"{warning.where}: {warning.varying} of {warning.shapes} shapes vary by more than "
            f"{warning.threshold:.0%} between runs (up to {warning.worst:.0%}): "
            f"{flag_advice(warning.kind)}, or measure when the machine is quiet"
        )
    raise TypeError(f"no sentence for {type(warning).__name__}")


# ---------------------------------------------------------------------------------------------
# Each record's finding (analysis.summarize)


def record_finding(summary: Summary) -> str:
    """One sentence naming the effect behind a record's number (``Summary.finding``).

    The words follow what the workload declares its task does and how the backend ran it, so a
    reason is never one that cannot apply to the row (the GIL on code that releases it, NumPy on a
    workload without arrays), and a win says whether it is concurrency or parallelism.
    """
    record = summary.record
    kind = summary.finding
    slots = summary.parallel_slots
    ratio = summary.task_time_ratio or 0.0
    overhead = summary.overhead_per_task_s or 0.0
    speedup = summary.speedup or 0.0
    if kind is FindingKind.FAILED:
        return f"failed: {record.error}"
    if kind is FindingKind.WRONG:
        return "WRONG ANSWER: differs from the serial answer, so this is no speedup"
    if kind is FindingKind.BASELINE:
        per_task = (summary.median_s or 0.0) / record.tasks
        return f"baseline: {record.tasks} tasks of {format_seconds(per_task)} one after another"
    if kind is FindingKind.NO_BASELINE:
        return "no serial baseline for this size"
    if kind is FindingKind.GIL:
        return (
            f"tasks took turns: each ran {ratio:.1f}x slower than alone, so {slots} "
            f"workers gave concurrency, not parallelism: {_turns_cause(summary)}"
        )
    if kind is FindingKind.SLOWER_WORK:
        return (
            f"each task needed {summary.task_cpu_ratio or 0.0:.1f}x the CPU time it needs alone: "
            f"the work itself ran slower on the workers ({_slow_work_cause(summary)})"
        )
    if kind is FindingKind.CORE_WAIT:
        return (
            f"tasks waited for a core: each ran {ratio:.1f}x slower than alone for the same CPU "
            f"time, so the {slots} workers and the driver competed for the cores"
            f"{_core_wait_cause(summary)}"
        )
    if kind is FindingKind.ONE_AFTER_ANOTHER:
        return f"tasks ran one after another: {_one_at_a_time_cause(summary)}"
    if kind is FindingKind.BYTES:
        return (
            f"moving {format_bytes(record.bytes_per_task)} in and out of every task costs more "
            "than running it in parallel saves; threads share memory and move nothing"
        )
    if kind is FindingKind.DISPATCH:
        return (
            f"dispatch costs {format_seconds(overhead)} per task against "
            f"{format_seconds(record.grain_s)} of work: make tasks coarser (--grain) or send "
            "more per dispatch (--chunk)"
        )
    if kind is FindingKind.WAITS:
        return (
            f"overlapped waits: tasks use {summary.baseline_cpu_share or 0.0:.0%} CPU and wait "
            f"the rest, so {slots} workers gave {speedup:.1f}x (concurrency: the "
            "waits overlap, the cores idle)"
        )
    efficiency = summary.efficiency or 0.0
    won = _won_by(summary)
    if kind is FindingKind.PARALLEL:
        return (
            f"{won or 'faster'}: {speedup:.1f}x on {slots} "
            f"workers ({efficiency:.0%} of ideal); {_win(summary)}"
        )
    fraction = summary.serial_fraction
    fraction_text = f"; serial fraction {fraction:.2f} (Karp-Flatt)" if fraction is not None else ""
    interval = summary.speedup_interval
    if interval is not None and interval.low <= 1.0:
        # Karp-Flatt is undefined here (analysis hides it): "partly parallel, serial fraction
        # 1.00" would call a job no faster than serial parallel.
        return (
            f"no speedup beyond doubt: {speedup:.2f}x, its interval reaching 1x; overhead "
            f"{format_seconds(overhead)} per task; {_win(summary)}"
        )
    return (
        f"{f'partly {won}' if won else 'a speedup'}: {efficiency:.0%} of "
        f"ideal; overhead {format_seconds(overhead)} per task{fraction_text}; {_win(summary)}"
    )


#: CPython's default switch interval (``sys.getswitchinterval()``): how long a thread may keep
#: the GIL while others wait for it. The results file does not record the run's own value.
DEFAULT_SWITCH_INTERVAL_S = 0.005
_SWITCH_INTERVAL = "sys.getswitchinterval(), 5 ms by default"


def _overlaps(summary: Summary) -> bool:
    """Whether a win can only be concurrency: tasks that wait, or one event loop taking turns."""
    return summary.nature is TaskNature.WAITS or summary.execution is Execution.EVENT_LOOP


def _won_by(summary: Summary) -> str | None:
    """``overlapped`` or ``parallel`` as a row's lead word; ``None`` where neither can be true."""
    if _blocks_loop(summary) or (
        summary.execution is Execution.THREADS
        and summary.nature is TaskNature.PURE_PYTHON
        and summary.gil_enabled
    ):
        return None
    return "overlapped" if _overlaps(summary) else "parallel"


def _blocks_loop(summary: Summary) -> bool:
    """Whether the tasks block the event loop they run on: declared, and they never wait."""
    return (
        summary.execution is Execution.EVENT_LOOP
        and summary.nature is not None
        and summary.nature is not TaskNature.WAITS
    )


def _win(summary: Summary) -> str:
    """Concurrency or parallelism, and what made it so for this workload on this backend."""
    if _blocks_loop(summary):
        # A plain function runs on the loop and blocks it: the number says more about the
        # serial baseline (or the machine's load) than about asyncio.
        return (
            "neither concurrency nor parallelism: tasks that never wait block the one event "
            "loop, so suspect a slow serial baseline or noise"
        )
    if _overlaps(summary):
        return "concurrency: the waits overlapped, taking turns on the cores"
    if summary.execution is Execution.THREADS and not summary.gil_enabled:
        return "parallelism: a free-threaded build has no GIL, so the threads ran side by side"
    if summary.execution is Execution.THREADS:
        if summary.nature is TaskNature.PURE_PYTHON:
            # Threads cannot run pure-Python code side by side: the number says more about the
            # serial baseline (or the machine's load) than about the threads.
            return (
                "not parallelism: pure-Python threads take turns on the GIL, so suspect a slow "
                "serial baseline or noise"
            )
        if summary.nature is None:
            return "parallelism where the code releases the GIL, so the threads ran side by side"
        return "parallelism: the native code releases the GIL, so the threads ran side by side"
    if summary.execution is Execution.NODES:
        return "parallelism: side by side on the nodes' own cores"
    if summary.execution is Execution.INTERPRETERS:
        return "parallelism: side by side in one process, an interpreter with its own GIL each"
    return "parallelism: side by side, an interpreter and a GIL per process"


def _turns_cause(summary: Summary) -> str:
    """Why tasks holding the GIL took turns (``FindingKind.GIL``), by how they were run."""
    code = "pure-Python code" if summary.nature is TaskNature.PURE_PYTHON else "Python code"
    if summary.execution is Execution.EVENT_LOOP:
        return f"one event loop runs one coroutine at a time, and {code} never awaits"
    return (
        f"{code} holds the GIL, and the interpreter hands it to the next thread every switch "
        f"interval ({_SWITCH_INTERVAL})"
    )


def _one_at_a_time_cause(summary: Summary) -> str:
    """Why tasks on a shared-memory backend ran one at a time at full speed."""
    if summary.execution is Execution.EVENT_LOOP:
        waits = (
            "their waits did not overlap"
            if summary.nature is TaskNature.WAITS
            else "they never wait"
        )
        return (
            f"{waits}, so there was nothing to overlap (an event loop runs one coroutine at a "
            "time, switching only where one awaits)"
        )
    if holds_gil(summary.nature) and summary.gil_enabled:
        if summary.record.grain_s <= DEFAULT_SWITCH_INTERVAL_S:
            return (
                f"Python code holds the GIL, and a thread keeps it for up to a switch interval "
                f"({_SWITCH_INTERVAL}), longer than these tasks, so each ran to its end before "
                "the next began: neither concurrency nor parallelism"
            )
        return (
            f"Python code holds the GIL, handed between threads every switch interval "
            f"({_SWITCH_INTERVAL}), so the threads took turns and the job took as long as "
            "serial: neither concurrency nor parallelism"
        )
    return (
        "the workers gave no speedup although the tasks do not hold the GIL "
        "throughout: the Python around each task (calls, arguments, results) ran one at a time"
    )


def _core_wait_cause(summary: Summary) -> str:
    """What the tasks did while they competed for the cores, when the workload declares it."""
    nature = summary.nature
    if _blocks_loop(summary):
        return " (the event loop runs one task at a time: no parallelism to cap)"
    released = (
        "the native code releases the GIL, so they ran side by side: "
        if summary.execution is Execution.THREADS
        else ""
    )
    if nature is TaskNature.RELEASES_GIL or nature is TaskNature.PURE_PYTHON:
        # Pure-Python tasks reach this only off the driver's interpreter (threads on them took
        # turns on the GIL instead): an interpreter per worker, capped by the cores.
        return f" ({released}parallelism, capped by the cores)"
    if nature is TaskNature.MOVES_DATA:
        return f" and the memory bandwidth ({released}parallelism, capped by the machine)"
    if nature is TaskNature.WAITS:
        return (
            " (waits hold no core: the work around each wait queued, with whatever the driver "
            "runs beside it)"
        )
    return ""


def _slow_work_cause(summary: Summary) -> str:
    """The likeliest reason work needs more CPU on the workers, from what the backend reported."""
    trim = summary.malloc_trim_threshold
    if not summary.uses_numpy and summary.nature is not None:
        # Allocator and BLAS settings matter to large arrays; this workload declares none.
        return "cache and memory bandwidth shared with other workers, or the engine's own threads"
    if trim is not None:
        return (
            f"their MALLOC_TRIM_THRESHOLD_={trim}, set by the engine, makes every large NumPy "
            "array take fresh memory from the kernel"
        )
    return "allocator or BLAS settings, or cache and memory bandwidth shared with other workers"


def record_warnings(rows: Sequence[tuple[str, RecordWarning]]) -> str:
    """Warnings of one kind on several rows of a table, in one sentence naming each row's value."""
    kind = rows[0][1].kind
    if len(rows) == 1 or any(warning.kind is not kind for _, warning in rows):
        return "; ".join(record_warning(warning) for _, warning in rows)
    if kind is RecordWarningKind.UNSTABLE:
        each = ", ".join(f"{warning.value:.0%} ({label})" for label, warning in rows)
        return (
            f"unstable: runs vary by {each} of their mean; raise --repeats, or close other programs"
        )
    return record_warning(rows[0][1])


def record_warning(warning: RecordWarning) -> str:
    """A record's warning in words, with the flag to change."""
    if warning.kind is RecordWarningKind.UNSTABLE:
        return (
            f"unstable: runs vary by {warning.value:.0%} of their mean; raise --repeats, "
            "or close other programs"
        )
    return "a job under 1 ms is mostly timer noise; raise --tasks or --grain"


def runtime_reason(info: RuntimeInfo) -> str:
    """What an interpreter changes for tasks side by side: ``free-threaded: no GIL``, ..."""
    if info.free_threaded:
        gil = "free-threaded: no GIL" if not info.gil_enabled else "free-threaded, GIL back on"
    else:
        gil = "one GIL per process: threads take turns"
    if info.interpreters:
        gil += "; subinterpreters: own GIL per interpreter"
    return f"{gil}; start method {info.start_method}"


def runtime_title(info: RuntimeInfo, *, host: bool) -> str:
    """A runtime as a table's title names it: ``Python 3.14.10 (...)``, the host said as such."""
    return f"Python {info.label}{' (host)' if host else ''}: {runtime_reason(info)}"


def serial_speedup_sentence(label: str, speedup: float) -> str:
    """A runtime's single-thread speed against the host's, on the same work."""
    if speedup >= 1:
        return f"{label}'s serial run did the same work {speedup:.2f}x as fast as the host's"
    return f"{label}'s serial run did the same work {1 / speedup:.2f}x slower than the host's"


# ---------------------------------------------------------------------------------------------
# Node sweeps


#: A fitted serial fraction below this is said to be none: its cap (1/f, over 200x) is far
#: beyond any size measured, and the fit cannot tell it from zero.
NO_SERIAL_PART = 0.005


def node_slice_text(cpus: float | None, memory_bytes: int | None) -> str:
    """One node's slice: ``0.5 CPU, 1.0 GiB``."""
    parts = [] if cpus is None else [f"{cpus:g} CPU"]
    if memory_bytes is not None:
        parts.append(format_bytes(memory_bytes))
    return ", ".join(parts) or "?"


def scaling_sentence(curve: ScalingCurve) -> str:
    """What one node sweep's series shows: the law fitted, and how well it predicted."""
    law = "Amdahl" if curve.fit is None or curve.fit.law is Law.AMDAHL else "Gustafson"
    series = (
        "the same total work on every size"
        if curve.scaling is Scaling.STRONG
        else "the same work per node"
    )
    head = f"{curve.workload} on {curve.backend}, {curve.scaling.value} scaling ({series})"
    if curve.fit is None:
        return f"{head}: too few sizes to fit {law}'s law."
    largest = curve.points[-1]
    text = (
        f"{head}: {largest.speedup:.2f}x on {largest.nodes} nodes against {curve.base_nodes} "
        f"({largest.efficiency:.0%} efficient); {law}'s law fits a serial fraction of "
        f"{curve.fit.serial_fraction:.3f}"
    )
    if curve.fit.law is Law.AMDAHL:
        if curve.fit.serial_fraction >= NO_SERIAL_PART:
            text += f", which caps the speedup at {1 / curve.fit.serial_fraction:.1f}x"
        else:
            text += " (none measurable: nothing seen here caps the speedup)"
    if curve.held_out is None:
        return text + "; too few sizes to check it on a size it did not see."
    check = curve.held_out
    return text + (
        f". Fitted without {check.nodes} nodes, it predicted {check.predicted_speedup:.2f}x "
        f"there; measured {check.measured_speedup:.2f}x (error {check.error:+.0%})."
    )


def node_projection_note() -> str:
    """What the node projection table is, said once under it."""
    return (
        "PROJECTIONS, not measurements: each fitted law extended to more nodes than were "
        "measured. The held-out error is how far the same law, fitted without the largest "
        "measured size, missed that size: the projection's own track record."
    )


# Lessons (``lessons``): what each workload teaches, what to expect, and whether this run shows it

#: Each lesson: its title, what it teaches, and what a 2-core machine should show.
LESSON_TEXTS: dict[Lesson, tuple[str, str, str]] = {
    Lesson.GIL: (
        "the GIL: pure-Python threads take turns",
        "Pure-Python code holds the GIL, so threads run it one at a time (concurrency, not "
        "parallelism) and an event loop runs it one coroutine at a time; an interpreter per "
        "worker (processes, Dask, Ray) runs it side by side.",
        "threads and asyncio no faster than serial; processes, Dask and Ray faster, towards "
        "the cores' count once tasks are coarse enough to pay for dispatch",
    ),
    Lesson.CONCURRENCY: (
        "concurrency: waits overlap",
        "Tasks that wait (here on a loopback server) hold no core while they wait: threads and "
        "coroutines overlap the waits, so the speedup is concurrency and can exceed the cores.",
        "threads, asyncio and processes all faster than serial, by up to their slot count",
    ),
    Lesson.NATIVE: (
        "native code releases the GIL",
        "NumPy's BLAS calls release the GIL, so threads run them side by side (parallelism, "
        "capped by the cores and by BLAS's own threads); a coroutine that never awaits blocks "
        "the one event loop.",
        "threads faster than serial, up to the cores; asyncio no faster",
    ),
    Lesson.TINY_TASKS: (
        "tiny tasks: dispatch costs more than the work",
        "Each dispatch to another process pickles, sends and schedules: at the smallest grain "
        "that costs more than the task itself. Sending many tasks per dispatch (--chunk auto) "
        "pays it once per batch.",
        "processes, Dask and Ray slower than serial at the smallest grain; their --chunk auto "
        "rows faster than their one-task-per-dispatch rows",
    ),
    Lesson.MOVING_DATA: (
        "moving data costs",
        "Threads share the driver's memory and move nothing; processes and clusters pickle and "
        "copy every task's arrays, which can cost more than running them in parallel saves.",
        "processes, Dask and Ray slower than threads at the most bytes per task",
    ),
    Lesson.AMDAHL: (
        "Amdahl: a serial part caps the speedup",
        "Counting words splits into parallel counts and one serial merge of the counts, timed "
        "with the job: the merge's share caps the speedup whatever the workers (Amdahl's law).",
        "processes below the ideal speedup of their workers (a Karp-Flatt serial fraction "
        "above 0); pure-Python threads no faster than serial",
    ),
}

_EXPECT_WORDS = {
    Expect.FASTER: "faster than {reference}",
    Expect.NOT_FASTER: "no faster than {reference}",
    Expect.SLOWER: "slower than {reference}",
    Expect.BELOW_IDEAL: "below ideal ({slots}x on {slots} workers)",
}

_VERDICT_MARKS = {Verdict.MATCHES: "✓", Verdict.DIFFERS: "✗", Verdict.NOT_SHOWN: "?"}

_CAUSE_WORDS = {
    Cause.NOISE: "the runs varied (a busy machine): raise --repeats, or measure when it is quiet",
    Cause.SLOW_BASELINE: (
        "the serial runs were slow (load or a cold start): no code runs faster than its cores "
        "and the GIL allow: raise --repeats"
    ),
    Cause.CORES_BUSY: "more busy workers (and the driver) than free cores: the machine was loaded",
    Cause.DISPATCH: "dispatch costs about as much as the work at this grain",
    Cause.SLOWER_WORK: "the work itself needed more CPU time on the workers",
    Cause.BYTES: "moving each task's bytes cost more than parallelism saved",
    Cause.UNKNOWN: "nothing in the row's own measurements explains it",
}


def lesson_title(item: WorkloadLesson) -> str:
    """``cpu — the GIL: pure-Python threads take turns``."""
    return f"{item.workload} — {LESSON_TEXTS[item.lesson][0]}"


def lesson_text(item: WorkloadLesson) -> str:
    """What the workload teaches."""
    return LESSON_TEXTS[item.lesson][1]


def lesson_expected(item: WorkloadLesson) -> str:
    """What you should see on a 2-core machine."""
    return f"What you should see: {LESSON_TEXTS[item.lesson][2]}."


def lesson_verdict(item: WorkloadLesson) -> str:
    """Whether this run shows the lesson, in a few words."""
    if not item.checks:
        return "not checked: the rows it needs were not measured"
    counts = {v: sum(c.verdict is v for c in item.checks) for v in Verdict}
    shown = f"{counts[Verdict.MATCHES]} of {len(item.checks)} expectations match"
    if counts[Verdict.DIFFERS]:
        shown += f", {counts[Verdict.DIFFERS]} differ"
    if counts[Verdict.NOT_SHOWN]:
        shown += f", {counts[Verdict.NOT_SHOWN]} not shown either way"
    return f"This run: {shown}."


def check_mark(check: Check) -> str:
    """✓ matches, ✗ differs, ? not shown."""
    return _VERDICT_MARKS[check.verdict]


def check_sentence(check: Check) -> str:
    """One expectation against the numbers: expected, measured, and why when it differs."""
    expectation = check.expectation
    record = check.row.record
    who = f"{record.backend} ({worker_count(record.workers)}"
    who += f", chunk {record.chunk})" if expectation.chunked else ")"
    reference = (
        f"its one-task-per-dispatch row ({record.backend})"
        if expectation.chunked
        else expectation.reference
    )
    expected = _EXPECT_WORDS[expectation.expect].format(reference=reference, slots=check.slots)
    interval = check.interval
    measured = (
        f"{check.ratio:.2f}x ({interval.low:.2f}-{interval.high:.2f}) at "
        f"{record.tasks} x {format_seconds(record.grain_s)}"
    )
    if record.bytes_per_task:
        measured += f", {format_bytes(record.bytes_per_task)}"
    text = f"{check_mark(check)} {who}: expected {expected}; measured {measured}"
    text += f": {check.verdict.value}"
    if check.cause is not None:
        text += f"; likely cause: {_CAUSE_WORDS[check.cause]}"
    return text


#: Each kind of row in a few words, on every finding of a Markdown table (None: the baseline).
ROW_KINDS = {None: "baseline", True: "one interpreter", False: "an interpreter per worker"}

#: The two kinds of rows under a table: the driver's one interpreter, or one per worker.
ROW_GROUP_TITLES = {
    True: "one interpreter, shared memory (threads, asyncio): concurrency, or parallelism "
    "where native code releases the GIL",
    False: "an interpreter per worker (interpreters, processes, Dask, Ray): parallelism",
}

#: Above the terminal's lesson lines.
LESSONS_HEADING = (
    "lessons: does this run show them? (✓ matches, ✗ differs, ? not shown; each in the reports)"
)

#: The report's opening line: why the sections come in the order they do.
TEACHING_NOTE = (
    "Sections in teaching order (cpu, io, blas, tiny tasks, data, wordcount): each opens with "
    "its lesson, what you should see on a 2-core machine, and whether this run shows it "
    "(✓ matches, ✗ differs with its likely cause, ? not shown either way)."
)


def never_crossing_note(count: int) -> str:
    """The line standing for the pairs that never cross in the measured range."""
    return (
        f"{count} more pair(s) and axes never cross in the measured range (one backend faster "
        "throughout): the HTML and JSON reports list each with its reason."
    )


def same_kind_note(count: int, places: str) -> str:
    """The line under a warning standing for ``count`` more of its kind (the HTML lists each)."""
    return f"{count} more of this kind (each in the HTML report): {places}"


def worker_count(workers: int) -> str:
    """``1 worker``, ``200 workers``."""
    return f"{workers} worker" if workers == 1 else f"{workers} workers"


def placement_sentence(placements: Sequence[tuple[str, float]]) -> str:
    """How long placing the large inputs on the workers took, once per row, outside the median."""
    each = ", ".join(f"{format_seconds(seconds)} ({label})" for label, seconds in placements)
    return (
        "inputs placed once before the timed jobs (shared memory for processes, Dask scatter, "
        f"Ray put): {each}; "
        "not in the median, paid again by every new job that needs them (--no-place sends them "
        "with every task instead)"
    )


def lesson_line(item: WorkloadLesson) -> str:
    """A lesson and this run's verdict in one terminal line: ``1/5 ✓; ✗ threads, dask; 1 ?``."""
    if not item.checks:
        return f"{lesson_title(item)}: {lesson_verdict(item)}"
    differ = [c.row.record.backend for c in item.checks if c.verdict is Verdict.DIFFERS]
    matches = sum(c.verdict is Verdict.MATCHES for c in item.checks)
    unshown = sum(c.verdict is Verdict.NOT_SHOWN for c in item.checks)
    parts = [f"{matches}/{len(item.checks)} ✓"]
    parts += [f"✗ {', '.join(differ)}"] if differ else []
    parts += [f"{unshown} ?"] if unshown else []
    return f"{lesson_title(item)}: {'; '.join(parts)}"
