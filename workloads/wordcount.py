"""Map-reduce: count words in generated text, one chunk per task, then merge the counts.

The lesson: the map side runs in parallel, but every partial count must travel back and be merged
in one place. The merge is serial (Amdahl's law caps the speedup) and its input grows with the
number of chunks, so past some number of workers the communication and the reduction, not the
counting, set the pace.

Answer: the merged word counts, exact.
"""

from __future__ import annotations

import random
from collections import Counter

from dist_bench.workload import Job, TaskArgs, TaskNature, Workload

#: A small vocabulary with a skewed draw, like real text: a few words are very common.
_WORDS = (
    "the of and to in is that for it as was with be by on not he this are or his from at which "
    "but have an they you were her she there been one all we their has would when if so no what "
    "cluster node worker task thread process scheduler pickle bandwidth latency overhead"
)
VOCABULARY = tuple(_WORDS.split(" "))
WEIGHTS = tuple(1.0 / (rank + 1) for rank in range(len(VOCABULARY)))


def make_tasks(job: Job) -> list[TaskArgs]:
    """One chunk of ``job.units`` words per task, drawn from the task's own seed."""
    return [
        (" ".join(random.Random(seed).choices(VOCABULARY, WEIGHTS, k=job.units)),)
        for seed in range(job.tasks)
    ]


def count_words(text: str) -> dict[str, int]:
    """The map step: word counts of one chunk."""
    return dict(Counter(text.split()))


def merge_counts(results: list[dict[str, int]]) -> dict[str, int]:
    """The reduce step: merged counts, sorted by word so the answer compares exactly."""
    merged: Counter[str] = Counter()
    for counts in results:
        merged.update(counts)
    return dict(sorted(merged.items()))


WORKLOAD = Workload(
    name="wordcount",
    summary="map-reduce word count: parallel map, serial merge of partial results",
    make_tasks=make_tasks,
    task=count_words,
    combine=merge_counts,
    default_tasks=16,
    default_grain_s=0.02,
    nature=TaskNature.PURE_PYTHON,
)
