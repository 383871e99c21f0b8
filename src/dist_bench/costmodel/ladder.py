"""The ladder: the article's steps up, each answered for every workload.

serial → threads / asyncio → processes → Dask / Ray: for each step, along the grain (the work per
task that a step up must repay), either where the upper backend starts to pay, decisively shown
by the measurements, or why no such point is inside the measured range: the upper one pays at
every measured grain (its crossover lies below the range), never pays there (above it, or never),
the two are about equal, or only the model has a crossing.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from dist_bench.costmodel.crossovers import Crossover, CrossoverKind

#: The steps up, lower rung first: concurrency (threads, asyncio) and parallelism on one machine
#: (processes) over serial, then the engines over processes.
LADDER: tuple[tuple[str, str], ...] = (
    ("serial", "threads"),
    ("serial", "asyncio"),
    ("serial", "processes"),
    ("processes", "dask"),
    ("processes", "ray"),
)


class StepAnswer(enum.Enum):
    """What the measurements say about one step up."""

    #: The upper backend starts to pay inside the range, shown decisively (a crossover).
    PAYS_FROM = "pays from"
    #: The two are about equal over part of the range (their lines cross shallowly).
    ABOUT_EQUAL = "about equal"
    #: The upper backend wins at every measured grain: its crossover lies below the range.
    PAYS_THROUGHOUT = "pays throughout"
    #: The lower backend wins at every measured grain: the step would pay above it, or never.
    NEVER_PAYS = "never pays"
    #: The lines cross in the range but the measurements do not show it decisively, or they do
    #: not cross and the measurements show no winner throughout.
    UNCLEAR = "unclear"
    #: The two only differ inside the margin at the top of the range.
    LEVEL = "level"


@dataclass(frozen=True)
class LadderStep:
    """One step up on one workload, answered along the grain.

    Attributes:
        lower: The backend stepped up from.
        upper: The backend stepped up to.
        answer: What the measurements say.
        crossover: The pair's crossover along the grain it rests on.
    """

    workload: str
    lower: str
    upper: str
    answer: StepAnswer
    crossover: Crossover

    @property
    def beyond(self) -> float | None:
        """Where the fitted lines meet outside the measured range (an extrapolation), if they do."""
        meets = self.crossover.meets_at
        low, high = self.crossover.shown_range
        if self.answer is StepAnswer.PAYS_THROUGHOUT and meets is not None and 0 < meets < low:
            return meets
        if self.answer is StepAnswer.NEVER_PAYS and meets is not None and meets > high:
            return meets
        return None

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (the crossover by its workload, pair and axis)."""
        return {
            "workload": self.workload,
            "lower": self.lower,
            "upper": self.upper,
            "answer": self.answer.value,
            "beyond": self.beyond,
            "kind": self.crossover.kind.value,
        }


def ladder(crossovers: Sequence[Crossover]) -> list[LadderStep]:
    """Every ladder step both of whose backends were measured along the grain, per workload."""
    steps = []
    for workload in dict.fromkeys(c.workload for c in crossovers):
        for lower, upper in LADDER:
            found = next(
                (
                    c
                    for c in crossovers
                    if c.workload == workload
                    and c.axis == "grain_s"
                    and set(c.backends) == {lower, upper}
                ),
                None,
            )
            if found is not None:
                steps.append(LadderStep(workload, lower, upper, _answer(found, upper), found))
    return steps


def _answer(crossover: Crossover, upper: str) -> StepAnswer:
    kind = crossover.kind
    if kind in (CrossoverKind.REACHED, CrossoverKind.BRACKETED):
        # The upper backend may be the one that wins below (the step pays only for small grains,
        # e.g. threads on waits); the crossover itself is the answer either way.
        return StepAnswer.PAYS_FROM
    if kind is CrossoverKind.ABOUT_EQUAL:
        return StepAnswer.ABOUT_EQUAL
    if kind in (CrossoverKind.UNSHOWN, CrossoverKind.UNSETTLED):
        return StepAnswer.UNCLEAR
    if kind is CrossoverKind.LEVEL:
        return StepAnswer.LEVEL
    return StepAnswer.PAYS_THROUGHOUT if crossover.winner_below == upper else StepAnswer.NEVER_PAYS
