"""Map-reduce: count words in generated text, one chunk per task, then merge the counts.

The lesson: the map side runs in parallel, but every partial count must travel back and be merged
in one place. The merge is serial (Amdahl's law caps the speedup) and its input grows with the
number of chunks, so past some number of workers the communication and the reduction, not the
counting, set the pace.

The merge is part of every timed job (the job ends with its answer), and the vocabulary is large
enough that each chunk's counts hold hundreds of distinct words: merging them takes about a tenth
to a quarter of the counting on the development machine, a serial fraction the report measures
rather than asserts.

Answer: the merged word counts, exact.
"""

from __future__ import annotations

import random
from collections import Counter
from itertools import accumulate

from dist_bench.workload import Job, TaskArgs, TaskNature, Workload

#: The most common words, most common first; a long tail of rarer ones follows them.
_WORDS = (
    "the of and to in is that for it as was with be by on not he this are or his from at which "
    "but have an they you were her she there been one all we their has would when if so no what "
    "cluster node worker task thread process scheduler pickle bandwidth latency overhead"
)
#: Words in all: enough that a chunk's counts hold many distinct words, so merging the partial
#: counts (serial, in the driver) costs a real share of the job (Amdahl), not a few microseconds.
VOCABULARY_SIZE = 2000
_COMMON = tuple(_WORDS.split(" "))
VOCABULARY = _COMMON + tuple(f"word{rank}" for rank in range(len(_COMMON), VOCABULARY_SIZE))
#: A skewed draw, like real text (Zipf): the word of rank r is drawn with weight 1 / (r + 1).
CUMULATIVE_WEIGHTS = tuple(accumulate(1.0 / (rank + 1) for rank in range(len(VOCABULARY))))


def make_tasks(job: Job) -> list[TaskArgs]:
    """One chunk of ``job.units`` words per task, drawn from the task's own seed."""
    return [
        (
            " ".join(
                random.Random(seed).choices(VOCABULARY, cum_weights=CUMULATIVE_WEIGHTS, k=job.units)
            ),
        )
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
