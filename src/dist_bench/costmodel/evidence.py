"""The measurements that show a crossover: shapes where one backend was decisively faster.

The model alone never makes a crossover reported: on its series, every shape both backends
measured is judged by ``dist_bench.decisive``'s rule, and the decisive wins nearest the
crossing (one on each side, in order) are its ``Evidence``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from dist_bench.costmodel.series import Series, on_series
from dist_bench.costmodel.shapes import Point
from dist_bench.decisive import PRACTICAL_MARGIN, Contrast, Drifts, contrast


@dataclass(frozen=True)
class Evidence:
    """A measured shape on a crossover's series where one backend was decisively faster.

    Decisively: by ``dist_bench.decisive``'s rule (medians' order-statistics intervals apart, a
    ratio above the run-to-run drift and the practical margin, steady across rounds). Records of
    one backend at one asked shape are pooled first (the search may measure a shape again, and
    every round measures it once).

    Attributes:
        value: Where on the series' axis (the serially measured grain for grains).
        faster: The backend that won there.
        faster_s: Its median wall time, seconds.
        slower_s: The other backend's median wall time, seconds.
        floor: The relative difference it had to pass (drift or margin).
        rounds: Rounds both backends measured there.
    """

    value: float
    faster: str
    faster_s: float
    slower_s: float
    floor: float = PRACTICAL_MARGIN
    rounds: int = 1

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return dict(vars(self))


def bracket(
    decisive: Sequence[tuple[float, Contrast]], low_winner: str, high_winner: str
) -> tuple[Evidence | None, Evidence | None]:
    """The decisive wins nearest a crossing: ``low_winner``'s highest, ``high_winner``'s lowest."""
    below = _evidence(max(((v, c) for v, c in decisive if c.faster == low_winner), default=None))
    above = _evidence(min(((v, c) for v, c in decisive if c.faster == high_winner), default=None))
    return below, above


def in_order(below: Evidence | None, above: Evidence | None) -> bool:
    """Whether both evidence shapes exist, the low end's winner's below the high end's."""
    return below is not None and above is not None and below.value < above.value


def _evidence(judged: tuple[float, Contrast] | None) -> Evidence | None:
    if judged is None:
        return None
    value, verdict = judged
    return Evidence(
        value, verdict.faster, verdict.faster_s, verdict.slower_s, verdict.floor, verdict.rounds
    )


def contrasts(
    series: Series,
    first: Sequence[Point],
    second: Sequence[Point],
    drifts: Drifts,
    rounds: int,
) -> list[tuple[float, Contrast]]:
    """Every shape on the series both backends measured, judged by the decisive rule."""
    mine, theirs = on_series(series, first), on_series(series, second)
    judged = []
    for asked in sorted(mine.keys() & theirs.keys()):
        group = mine[asked] + theirs[asked]
        verdict = contrast(
            [p.record for p in mine[asked]], [p.record for p in theirs[asked]], drifts, rounds
        )
        if verdict is not None:
            value = float(np.median([p.shape.value(series.axis) for p in group]))
            judged.append((value, verdict))
    return judged
