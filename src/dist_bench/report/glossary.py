"""The glossaries: every kind of finding, and the words a learner may not know yet."""

from __future__ import annotations

from dataclasses import dataclass

from dist_bench.findings import FindingKind


@dataclass(frozen=True)
class FindingGloss:
    """One kind of finding ``findings.explain`` gives, as the glossaries name and explain it."""

    kind: FindingKind
    name: str
    meaning: str

    @property
    def anchor(self) -> str:
        """The glossary entry's HTML anchor (after ``finding-``)."""
        return self.kind.value


#: Every kind of finding, for the glossaries; docs/concepts.md tells the longer story.
FINDING_KINDS: tuple[FindingGloss, ...] = (
    FindingGloss(
        FindingKind.BASELINE,
        "baseline",
        "the serial run: every speedup divides by it, every answer is checked against it",
    ),
    FindingGloss(
        FindingKind.PARALLEL,
        "parallel",
        "at least 75 % of ideal speedup: side by side on separate cores (parallelism), or, for "
        "tasks that wait, their waits overlapped (concurrency; the row then reads overlapped)",
    ),
    FindingGloss(
        FindingKind.PARTLY_PARALLEL,
        "partly parallel",
        "a real speedup, but below 75 % of ideal: dispatch overhead or a serial part (its "
        "Karp-Flatt fraction) limits it",
    ),
    FindingGloss(
        FindingKind.GIL,
        "tasks took turns (the GIL)",
        "threads on pure-Python code: each task ran about as many times slower as there were "
        "threads, because only one thread runs Python bytecode at a time",
    ),
    FindingGloss(
        FindingKind.WAITS,
        "overlapped waits",
        "the tasks mostly wait (little CPU time), so the speedup comes from overlapping the "
        "waits, not from cores: concurrency",
    ),
    FindingGloss(
        FindingKind.ONE_AFTER_ANOTHER,
        "one after another",
        "no overlap: an event loop ran coroutines that never await each to its end (they "
        "cannot take turns: a longer task time there is the machine's load or noise), or each "
        "thread kept the GIL for its switch interval and finished its task within it",
    ),
    FindingGloss(
        FindingKind.DISPATCH,
        "dispatch overhead",
        "sending each task to a worker (pickling, messages, scheduling) costs at least the "
        "work per task the serial run measured, or more than the workers save on each task "
        "(half of it on two): make tasks coarser or batch them; named first when it is at "
        "least the work",
    ),
    FindingGloss(
        FindingKind.BYTES,
        "moving bytes",
        "the data sent in and out of every task costs more than parallelism saves; shared "
        "memory (threads) or placing inputs once avoids it",
    ),
    FindingGloss(
        FindingKind.SLOWER_WORK,
        "slower work",
        "each task needed more CPU time on the workers than alone: allocator, BLAS threads, "
        "or cache and memory bandwidth shared with other workers",
    ),
    FindingGloss(
        FindingKind.CORE_WAIT,
        "waiting for a core",
        "the tasks took longer for the same CPU time: more busy workers (and the driver) than "
        "cores",
    ),
    FindingGloss(
        FindingKind.WRONG,
        "wrong answer",
        "an answer differed from the serial one: a failure, never a speedup",
    ),
    FindingGloss(
        FindingKind.FAILED,
        "failed",
        "the measurement raised; the reason follows",
    ),
    FindingGloss(
        FindingKind.NO_BASELINE,
        "no baseline",
        "the serial run of this size is missing or failed, so there is no speedup",
    ),
)


#: The words a report uses that a learner may not know yet, each in a sentence.
GLOSSARY: tuple[tuple[str, str], ...] = (
    ("task", "one call of the workload's function on one worker; a job is many tasks"),
    (
        "grain",
        "the serial seconds of work in one task: what the serial run measured (headings show "
        "it, with the grain asked for where the calibration missed)",
    ),
    ("job shape", "tasks per job, grain, and bytes moved per task: the three axes swept"),
    ("speedup", "the serial job's median time over this one's: above 1x is faster"),
    (
        "efficiency",
        "speedup per worker that could be busy: 100 % is ideal, what a serial part, dispatch or "
        "moving bytes take away shows here",
    ),
    (
        "concurrency",
        "tasks taking turns or overlapping their waits on shared resources (threads, an event "
        "loop): pays off when tasks wait",
    ),
    (
        "parallelism",
        "tasks running side by side on separate cores (processes, nodes, or threads in native "
        "code that releases the GIL): pays off when tasks compute",
    ),
    (
        "GIL",
        "CPython's global interpreter lock: one thread runs Python bytecode at a time, handed "
        "over every switch interval (sys.getswitchinterval(), 5 ms by default)",
    ),
    (
        "dispatch",
        "sending a task to a worker: pickling it, a message, scheduling, the result back; "
        "--chunk sends several tasks per dispatch to pay it once",
    ),
    (
        "placement",
        "putting a large input on the workers once (shared memory, Dask scatter, Ray put) "
        "instead of sending it with every task; timed apart from the jobs",
    ),
    ("S, o", "the fitted fixed cost of every job, and the fitted dispatch cost of every task"),
    (
        "P_eff",
        "the fitted effective parallelism: how many tasks' work ran side by side; 1 for "
        "pure-Python threads, at most the workers",
    ),
    ("B", "the fitted bandwidth of moving a task's bytes to and from its worker"),
    (
        "held-out error",
        "how far the cost model misses a measured job it was not fitted on (each left out in "
        "turn, the median miss): above 25 % its crossovers are rough",
    ),
    (
        "crossover",
        "the job size from which one backend beats another: where their fitted times meet, "
        "reported only when measured shapes on both sides show each winner",
    ),
    (
        "Karp-Flatt serial fraction",
        "(1/speedup - 1/p) / (1 - 1/p) for p busy workers: the share of the job that behaved "
        "serially; defined only for a speedup beyond doubt and at most ideal",
    ),
    (
        "Amdahl's law",
        "with a serial share f, p workers give at most 1 / (f + (1 - f)/p): a fixed job's "
        "speedup flattens at 1/f",
    ),
    (
        "Gustafson's law",
        "grow the job with the workers and the serial share shrinks: the scaled speedup is "
        "f + (1 - f) p",
    ),
    (
        "METG",
        "minimum effective task granularity: the smallest grain at which a backend still runs "
        "at half its ideal efficiency; finer tasks waste most of the workers on overhead",
    ),
    (
        "interval",
        "a median's order-statistics interval, or a speedup's bootstrap 95 % interval: two "
        "numbers are different beyond doubt only when their intervals do not overlap",
    ),
    (
        "projection",
        "a speedup predicted from the fitted costs for more nodes than were measured: never a "
        "measurement, always labelled",
    ),
)


def finding_gloss(kind: FindingKind) -> FindingGloss:
    """The glossary entry of a finding kind."""
    return next(gloss for gloss in FINDING_KINDS if gloss.kind is kind)
