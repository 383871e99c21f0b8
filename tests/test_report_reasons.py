"""Every explanation is true for its row: per workload x backend, the words a learner reads.

The records are hand-made (scripted timings) for each built-in workload on each kind of backend,
shaped so each finding is reached: a clear win, tasks slowed by each other, slower work on the
workers, tasks that ran one after another. The rules below are the lessons: no GIL on code that
releases it, no NumPy or allocator on workloads without arrays, no event loop on threads, and a
win named *concurrency* where the tasks wait, *parallelism* where they compute side by side.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import pytest

from dist_bench.analysis import Summary, summarize
from dist_bench.costmodel import CutoverAnalysis, analyse
from dist_bench.report.record_sentences import record_finding
from dist_bench.report.sentences import crossover_sentence, reason_label
from dist_bench.results import BackendRun, Record, Results, load_results

WORKLOADS = ("cpu", "io", "blas", "data", "wordcount")
#: Each backend's ``describe()`` as a results file stores it.
TOPOLOGIES: dict[str, dict[str, object]] = {
    "threads": {"shares_memory": True, "remote": False},
    "asyncio": {"shares_memory": True, "remote": False},
    "processes": {"shares_memory": False, "remote": False},
    "dask": {
        "shares_memory": False,
        "remote": False,
        "worker_environment": {"MALLOC_TRIM_THRESHOLD_": "65536"},
    },
}
#: Serial: 10 tasks of 10 ms each.
SERIAL_S = 0.1
#: The serial tasks' CPU time: nearly none for a workload that waits.
SERIAL_CPU_S = {"io": 0.005}


@dataclass(frozen=True)
class Scenario:
    """What a backend measured, relative to the serial run: job time, task time, task CPU."""

    wall: float
    task: float
    cpu: float


SCENARIOS = {
    # Twice as fast, tasks as fast as alone: a real win.
    "win": Scenario(wall=0.5, task=1.0, cpu=1.0),
    # No faster, each task 2.5x slower for the same CPU time: the tasks held each other back.
    "contended": Scenario(wall=1.0, task=2.5, cpu=1.0),
    # No faster, twice the CPU per task: the work itself slowed on the workers.
    "slower work": Scenario(wall=1.1, task=2.0, cpu=2.0),
    # No faster, tasks as fast as alone: they ran one after another.
    "in turn": Scenario(wall=1.0, task=1.0, cpu=1.0),
}


def record(workload: str, backend: str, scenario: Scenario | None) -> Record:
    factor = scenario or Scenario(1.0, 1.0, 1.0)
    cpu = SERIAL_CPU_S.get(workload, SERIAL_S)
    return Record(
        workload=workload,
        backend=backend,
        tasks=10,
        grain_s=0.01,
        bytes_per_task=0,
        units=1,
        workers=1 if scenario is None else 2,
        wall_s=[SERIAL_S * factor.wall * f for f in (0.99, 1.0, 1.01)],
        task_s=[SERIAL_S * factor.task] * 3,
        task_cpu_s=[cpu * factor.cpu] * 3,
        verified=True,
    )


def row(workload: str, backend: str, scenario: str) -> tuple[Summary, str]:
    """The summary and finding sentence of ``backend`` on ``workload`` in ``scenario``."""
    runs = [
        BackendRun("serial", 0.0, 0.0, {"shares_memory": True, "remote": False}),
        BackendRun(backend, 0.1, 0.0, dict(TOPOLOGIES[backend])),
    ]
    records = [record(workload, "serial", None), record(workload, backend, SCENARIOS[scenario])]
    _, summary = summarize(Results(metadata={}, backends=runs, records=records))
    return summary, record_finding(summary)


@dataclass(frozen=True)
class Rule:
    """A lesson: on the rows ``applies`` picks, the sentence must (not) match one of ``words``.

    ``words`` are regular expressions, so "not parallelism" (or "nor", "no parallelism") is not read
    as a claim of it.
    """

    name: str
    applies: Callable[[str, str, str], bool]
    words: tuple[str, ...]
    present: bool = False


#: Workloads whose tasks compute (none waits), and backends that run an interpreter per worker.
COMPUTING = ("cpu", "blas", "wordcount")
INTERPRETER_PER_WORKER = ("processes", "dask")


def _computing_apart(scenario: str) -> Callable[[str, str, str], bool]:
    """Picks the rows of a computing workload on an interpreter per worker, in ``scenario``."""
    return lambda workload, backend, row_scenario: (
        workload in COMPUTING and backend in INTERPRETER_PER_WORKER and row_scenario == scenario
    )


RULES = (
    Rule(
        "no GIL on code that releases it",
        lambda workload, backend, scenario: workload in ("blas", "data", "io"),
        ("holds the GIL", "take turns on the GIL", "took turns on the GIL"),
    ),
    Rule(
        "no NumPy, allocator or BLAS on workloads without arrays",
        lambda workload, backend, scenario: workload in ("cpu", "io", "wordcount"),
        ("NumPy", "MALLOC", "BLAS", "allocator"),
    ),
    Rule(
        "no event loop on threads or processes",
        lambda workload, backend, scenario: backend != "asyncio",
        ("event loop", "coroutine"),
    ),
    Rule(
        "no GIL or switch interval on processes and engines",
        lambda workload, backend, scenario: backend in INTERPRETER_PER_WORKER,
        ("holds the GIL", "switch interval", "the GIL lets one"),
    ),
    Rule(
        "no switch interval on asyncio",
        lambda workload, backend, scenario: backend == "asyncio",
        ("switch interval", "hands it to the next thread"),
    ),
    Rule(
        "a win on io is concurrency",
        lambda workload, backend, scenario: workload == "io" and scenario == "win",
        ("concurrency",),
        present=True,
    ),
    Rule(
        "a win on io is not called parallelism",
        lambda workload, backend, scenario: workload == "io" and scenario == "win",
        (r"^parallel:", r"(?<!not )(?<!nor )(?<!no )parallelism"),
    ),
    Rule(
        "a win on computing workloads with an interpreter per worker is parallelism",
        _computing_apart("win"),
        ("parallelism",),
        present=True,
    ),
    Rule(
        "computing tasks slowed on processes still ran in parallel, capped by the cores",
        _computing_apart("contended"),
        (r"parallelism, capped by the cores",),
        present=True,
    ),
    Rule(
        "threads on code that releases the GIL win by parallelism",
        lambda workload, backend, scenario: (
            workload == "blas" and backend == "threads" and scenario == "win"
        ),
        (r"parallelism: the native code releases the GIL",),
        present=True,
    ),
    Rule(
        "pure-Python threads never claim parallelism",
        lambda workload, backend, scenario: (
            workload in ("cpu", "wordcount") and backend == "threads"
        ),
        (r"^parallel:", r"^partly parallel", r"(?<!not )(?<!nor )(?<!no )parallelism"),
    ),
    Rule(
        "asyncio on tasks that never wait claims neither concurrency nor parallelism",
        lambda workload, backend, scenario: workload != "io" and backend == "asyncio",
        (
            r"^parallel:",
            r"^overlapped",
            r"(?<!not )(?<!nor )(?<!no )parallelism",
            r"(?<!not )(?<!neither )concurrency:",
        ),
    ),
    Rule(
        "pure-Python threads held back by each other took turns on the GIL",
        lambda workload, backend, scenario: (
            workload in ("cpu", "wordcount") and backend == "threads" and scenario == "contended"
        ),
        ("holds the GIL", "switch interval"),
        present=True,
    ),
    Rule(
        "an engine's malloc setting is blamed on NumPy workloads that slowed",
        lambda workload, backend, scenario: (
            workload in ("blas", "data") and backend == "dask" and scenario == "slower work"
        ),
        (r"MALLOC_TRIM_THRESHOLD_=65536",),
        present=True,
    ),
)

GRID = [
    (workload, backend, scenario)
    for workload in WORKLOADS
    for backend in TOPOLOGIES
    for scenario in SCENARIOS
]


@pytest.mark.parametrize(("workload", "backend", "scenario"), GRID)
def test_every_finding_is_true_for_its_row(workload: str, backend: str, scenario: str) -> None:
    _, sentence = row(workload, backend, scenario)
    for rule in RULES:
        if not rule.applies(workload, backend, scenario):
            continue
        found = [word for word in rule.words if re.search(word, sentence)]
        if rule.present:
            assert found, f"{rule.name}: {sentence!r}"
        else:
            assert not found, f"{rule.name}: {sentence!r}"


def test_every_rule_applies_somewhere() -> None:
    """A rule the grid never reaches would pass without checking anything."""
    for rule in RULES:
        assert any(rule.applies(*cell) for cell in GRID), rule.name


def test_the_scenarios_reach_the_findings_they_are_named_for() -> None:
    """The grid covers the kinds whose words differ by workload (else the rules check little)."""
    kinds = {row(*cell)[0].finding.value for cell in GRID}
    assert {"gil", "core-wait", "slower-work", "one-after-another", "waits", "parallel"} <= kinds


@pytest.fixture(scope="module")
def golden() -> CutoverAnalysis:
    """A real cutover run on every built-in workload (the golden test's file)."""
    return analyse(load_results(Path(__file__).parent / "data" / "golden_cutover.json"))


def test_pair_reasons_name_concurrency_where_tasks_wait(golden: CutoverAnalysis) -> None:
    labels = {(c.workload, reason_label(c)) for c in golden.crossovers}
    assert ("io", "concurrency") in labels
    assert not {label for workload, label in labels if workload == "io"} & {"parallelism", "GIL"}
    assert not {label for workload, label in labels if workload in ("blas", "data")} & {"GIL"}


def test_pair_sentences_keep_the_gil_and_parallelism_to_their_workloads(
    golden: CutoverAnalysis,
) -> None:
    for crossover in golden.crossovers:
        sentence = crossover_sentence(crossover, golden.fits)
        if crossover.workload in ("blas", "data", "io"):
            assert "the GIL lets one" not in sentence, sentence
        # One task at a time is never a cap above 1x: a fitted figure above it is named as noise.
        assert "capping" not in sentence and "caps threads at" not in sentence, sentence
        if "the GIL lets one" in sentence and "fitted" in sentence:
            assert "not parallelism" in sentence, sentence
        if crossover.workload == "io":
            assert "tasks' work at once" not in sentence, sentence
            assert "runs in parallel" not in sentence, sentence


def test_a_gil_reason_on_asyncio_names_the_event_loop(golden: CutoverAnalysis) -> None:
    gil = next(c for c in golden.crossovers if c.workload == "cpu" and c.reason == "GIL")
    assert reason_label(gil) == "GIL"
    assert reason_label(replace(gil, winner_below="asyncio")) == "event loop"
