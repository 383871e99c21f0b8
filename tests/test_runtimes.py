"""The runtime dimension: which interpreter measured a record, and measuring on several.

The 3.14 runtime image (``runtimes/build-runtime.sh``, built by CI's root preparation) is used
for real: the backend contract suite runs inside it, and so does a ``run``. Outside CI a machine
without it skips those tests; under CI (``CI`` set) its absence fails them.
"""

from __future__ import annotations

import csv
import io
import json
import multiprocessing
import os
import platform
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from dist_bench import runtime_launch
from dist_bench.analysis import Summary, summarize
from dist_bench.backends import get_backend_spec, split_available
from dist_bench.backends.threads import ThreadsBackend
from dist_bench.comparison import pair_key
from dist_bench.costmodel import analyse
from dist_bench.errors import InterpreterError, ResultsFileError, UsageError
from dist_bench.findings import FindingKind, explain
from dist_bench.report.content import ReportData
from dist_bench.results import BackendRun, Record, Results, collect_metadata, load_results
from dist_bench.results_writer import ResultsWriter, write_atomically
from dist_bench.runtime import RuntimeInfo, current_runtime
from dist_bench.runtime_launch import (
    HOST,
    IMAGE_TEMPLATE,
    Runtime,
    command_for,
    keep_runtime_results,
    measure_in,
    measure_other_runtimes,
    parse_runtimes,
    resolve_runtime,
    runtime_argv,
)
from dist_bench.runtime_speed import runtime_serial_speedups
from dist_bench.sweep import runs_on
from dist_bench.workload import builtin_workloads
from tests import test_cli
from tests.test_analysis import record
from tests.test_cli import TINY, Runner, assert_one_line_error
from tests.test_report import render

#: The command-line runner fixture of the CLI's tests.
run_cli = test_cli.run_cli
ROOT = Path(__file__).resolve().parent.parent
IMAGE = IMAGE_TEMPLATE.format(version="3.14")
#: A run small enough for a test: 4 tasks of 20 ms, two measured jobs.
SMALL_RUN = ["cpu", "--tasks", "4", "--grain", "20ms", "--repeats", "2"]


def _info(**changes: object) -> RuntimeInfo:
    base = RuntimeInfo("3.14.0", "CPython", False, True, "forkserver", True, "/usr/bin/python3")
    return RuntimeInfo(**{**base.to_json(), **changes})  # type: ignore[arg-type]


def test_this_interpreter_is_described_as_it_is() -> None:
    info = current_runtime()
    assert info.version == platform.python_version()
    assert info.implementation == platform.python_implementation()
    assert info.executable == sys.executable
    assert info.interpreters == (sys.version_info >= (3, 14))
    expected_gil = sys._is_gil_enabled() if hasattr(sys, "_is_gil_enabled") else True
    assert info.gil_enabled == expected_gil
    assert collect_metadata([])["runtime"] == info.to_json()


@pytest.mark.parametrize(
    ("changes", "label"),
    [
        ({}, "3.14.0"),
        ({"free_threaded": True, "gil_enabled": False}, "3.14.0t"),
        ({"implementation": "PyPy", "version": "3.11.9"}, "PyPy 3.11.9"),
    ],
)
def test_a_runtime_is_labelled_by_version_and_build(changes: dict[str, object], label: str) -> None:
    info = _info(**changes)
    assert info.label == label
    assert RuntimeInfo.from_json({**info.to_json(), "from a newer file": 1}) == info


@pytest.mark.skipif(sys.version_info >= (3, 14), reason="this interpreter has subinterpreters")
def test_the_interpreters_backend_is_unavailable_before_3_14_with_the_reason() -> None:
    spec = get_backend_spec("interpreters")
    assert not spec.available()
    reason = spec.unavailable_reason()
    assert reason is not None and "needs Python 3.14" in reason and "--python 3.14" in reason
    assert split_available(["serial", "interpreters", "threads"]) == (
        ["serial", "threads"],
        {"interpreters": reason},
    )


def test_run_options_only_the_host_keeps_are_dropped_in_both_spellings() -> None:
    argv = ["cpu", "--python", "3.14", "-b", "threads", "-o", "r.json", "--plot=p.png", "-oX"]
    argv += ["--output=r.json", "--tasks", "8"]
    assert runtime_argv(argv) == ["cpu", "-b", "threads", "--tasks", "8"]


def test_the_host_is_named_by_host_or_by_its_own_version() -> None:
    own = f"{sys.version_info.major}.{sys.version_info.minor}"
    assert resolve_runtime(HOST).is_host
    assert resolve_runtime(own).is_host
    assert resolve_runtime(sys.executable).is_host


@pytest.mark.parametrize(
    ("text", "error", "words"),
    [
        ("python-three", UsageError, "give 'host', a version"),
        ("", UsageError, "at least one interpreter"),
        ("host,host", UsageError, "twice"),
        ("/no/such/python", InterpreterError, "no executable file there"),
        ("3.99", InterpreterError, "runtimes/build-runtime.sh 3.99"),
    ],
)
def test_an_interpreter_that_cannot_be_had_is_one_clear_error(
    text: str, error: type[Exception], words: str
) -> None:
    with pytest.raises(error, match=words.replace(".", r"\.")):
        parse_runtimes(text)


def test_a_local_interpreter_runs_without_docker_and_an_image_one_in_it(tmp_path: Path) -> None:
    local = resolve_runtime(_wrapper(tmp_path))
    out = tmp_path / "out" / "r.json"
    command = command_for(local, tmp_path, out, ["cpu"])
    assert command[0] == str(tmp_path / "python") and command[-2:] == ["-o", str(out)]
    image = Runtime("3.14", ("/opt/dist-bench/bin/python",), IMAGE)
    in_image = command_for(image, tmp_path, out, ["cpu"], [tmp_path])
    assert in_image[:2] == ["docker", "run"]
    assert f"--user={os.getuid()}:{os.getgid()}" in in_image
    assert f"--volume={tmp_path}:{tmp_path}:ro" in in_image
    inner = [*image.python, "-m", "dist_bench", "run", "cpu", "-o", str(out)]
    assert in_image[in_image.index(IMAGE) + 1 :] == inner


def _wrapper(folder: Path) -> str:
    """An interpreter at another path: a script that starts this one."""
    script = folder / "python"
    script.write_text(f'#!/bin/sh\nexec {sys.executable} "$@"\n')
    script.chmod(0o755)
    return str(script)


def test_a_run_by_path_is_dist_bench_running_in_that_interpreter(tmp_path: Path) -> None:
    runtime = resolve_runtime(_wrapper(tmp_path))
    measured = measure_in(runtime, [*SMALL_RUN, "-b", "threads"])
    assert [r.backend for r in measured.records] == ["serial", "threads"]
    assert all(r.verified for r in measured.records)
    assert measured.metadata["command"][-2:-1] == ["-o"]
    # The same build as the host's gets the same label: its records cannot be told apart.
    writer = ResultsWriter(None, collect_metadata([]))
    with pytest.raises(InterpreterError, match="both Python"):
        keep_runtime_results(writer, measured)


def _record(backend: str, runtime: str, wall: float, task: float) -> Record:
    return record(backend, wall, task, tasks=4, units=100, task_cpu_s=[task] * 3, runtime=runtime)


def _two_runtimes(tmp_path: Path) -> Results:
    host = current_runtime().to_json()
    other = _info(free_threaded=True, gil_enabled=False).to_json()
    results = Results(metadata={"runtime": host, "runtimes": {"3.14.0t": other}})
    results.records = [
        _record("serial", "", 0.04, 0.04),
        _record("threads", "", 0.04, 0.08),
        _record("serial", "3.14.0t", 0.05, 0.05),
        _record("threads", "3.14.0t", 0.025, 0.05),
    ]
    results.backends = [
        BackendRun("threads", 0.001, topology={"shares_memory": True, "gil_enabled": True}),
        BackendRun(
            "threads",
            0.001,
            topology={"shares_memory": True, "gil_enabled": False},
            runtime="3.14.0t",
        ),
    ]
    path = tmp_path / "r.json"
    write_atomically(path, results)
    return load_results(path)


def test_each_runtime_is_divided_by_its_own_serial_run(tmp_path: Path) -> None:
    summaries = {
        (s.record.runtime, s.record.backend): s for s in summarize(_two_runtimes(tmp_path))
    }
    assert summaries[("", "threads")].speedup == pytest.approx(1.0)
    assert summaries[("3.14.0t", "threads")].speedup == pytest.approx(2.0)
    assert summaries[("", "threads")].finding is FindingKind.GIL
    assert summaries[("3.14.0t", "threads")].gil_enabled is False
    assert summaries[("3.14.0t", "threads")].finding is FindingKind.PARALLEL


def test_threads_taking_turns_without_a_gil_are_not_blamed_on_the_gil(tmp_path: Path) -> None:
    results = _two_runtimes(tmp_path)
    slow = next(r for r in results.records if r.runtime and r.backend == "threads")
    slow.wall_s, slow.task_s = [0.05] * 3, [0.1] * 3  # twice as long per task, no speedup
    summary = next(s for s in summarize(results) if s.record is slow)
    assert summary.finding is not FindingKind.GIL
    assert explain(
        Summary(**{**summary.__dict__, "gil_enabled": True}), {"shares_memory": True}
    ) is (FindingKind.GIL)


def test_a_version_2_file_with_runtimes_is_refused_and_one_without_loads(tmp_path: Path) -> None:
    document = json.loads(_two_runtimes(tmp_path).dumps())
    document["version"] = 2
    path = tmp_path / "v2.json"
    path.write_text(json.dumps(document))
    with pytest.raises(ResultsFileError, match="version 2 file has no runtime"):
        load_results(path)
    for item in document["records"] + document["backends"]:
        item.pop("runtime")
    path.write_text(json.dumps(document))
    assert {r.runtime for r in load_results(path).records} == {""}


@pytest.fixture(scope="module")
def runtime_image() -> str:
    """The 3.14 runtime image; CI's root preparation builds it, so there it must exist."""
    found = (
        subprocess.run(["docker", "image", "inspect", IMAGE], capture_output=True, check=False)
        if _has_docker()
        else None
    )
    if found is None or found.returncode != 0:
        if os.environ.get("CI"):
            pytest.fail(f"CI builds {IMAGE} (.ci/run); it is missing")
        pytest.skip(f"no {IMAGE} here: runtimes/build-runtime.sh 3.14 (as root) makes it")
    return IMAGE


def _has_docker() -> bool:
    return subprocess.run(["which", "docker"], capture_output=True, check=False).returncode == 0


def test_the_backend_contract_holds_inside_the_3_14_runtime(
    runtime_image: str, tmp_path: Path
) -> None:
    # The suite itself, run by pytest in 3.14 on the host's code: interpreters for real there.
    runtime = resolve_runtime("3.14")
    inner = [
        "docker", "run", "--rm", "--network=none", "--ipc=host",
        f"--user={os.getuid()}:{os.getgid()}", "--env=HOME=/tmp",
        "--env=PYTHONDONTWRITEBYTECODE=1", f"--env=PYTHONPATH={ROOT / 'src'}:{ROOT}",
        f"--volume={ROOT}:{ROOT}:ro", f"--volume={tmp_path}:{tmp_path}", f"--workdir={ROOT}",
        runtime_image, *runtime.python, "-m", "pytest", "tests/test_backend_contract.py",
        "-q", "-p", "no:cacheprovider", "-k", "serial or threads or interpreters or processes",
        f"--basetemp={tmp_path / 'pytest'}",
    ]  # fmt: skip
    done = subprocess.run(inner, capture_output=True, text=True, check=False, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert "interpreters" not in done.stdout or "failed" not in done.stdout
    assert " passed" in done.stdout.splitlines()[-1]


def test_a_run_across_the_host_and_3_14_keeps_both_with_their_own_baselines(
    runtime_image: str, tmp_path: Path
) -> None:
    path = tmp_path / "r.json"
    started: list[str] = []
    with ResultsWriter(path, collect_metadata([])) as writer:
        labels = measure_other_runtimes(
            parse_runtimes("host,3.14"),
            [*SMALL_RUN, "-b", "threads,interpreters", "-o", str(path)],
            writer,
            lambda runtime: started.append(runtime.spec),
        )
    saved = load_results(path)
    assert started == ["3.14"] and len(labels) == 1
    info = RuntimeInfo.from_json(saved.metadata["runtimes"][labels[0]])
    assert info.label == labels[0] and info.version.startswith("3.14.")
    assert info.interpreters and info.gil_enabled and not info.free_threaded
    assert info.start_method == "forkserver"  # 3.14 changed Linux's default
    assert [(r.runtime, r.backend) for r in saved.records] == [
        (labels[0], "serial"),
        (labels[0], "threads"),
        (labels[0], "interpreters"),
    ]
    assert all(r.verified for r in saved.records)
    runs = {run.backend: run for run in saved.backends}
    assert runs["interpreters"].topology["own_gil_per_interpreter"] is True
    summaries = {s.record.backend: s for s in summarize(saved)}
    assert summaries["interpreters"].speedup is not None
    assert summaries["interpreters"].execution.value == "interpreters"


def test_reports_show_each_runtime_apart_with_its_reason_and_single_thread_cost(
    tmp_path: Path,
) -> None:
    data = ReportData(_two_runtimes(tmp_path))
    titles = [group.title for group in data.groups]
    assert titles[0].endswith(
        "(host): one GIL per process: threads take turns; start method "
        f"{current_runtime().start_method}"
    )
    assert titles[1].endswith(
        "on Python 3.14.0t: free-threaded: no GIL; subinterpreters: own GIL "
        "per interpreter; start method forkserver"
    )
    # The same work per unit: 0.04 s on the host, 0.05 s on 3.14.0t.
    assert runtime_serial_speedups(data.results) == {"3.14.0t": pytest.approx(0.8)}
    items = dict(data.metadata_items())
    assert items["single-thread cost"] == (
        "3.14.0t's serial run did the same work 1.25x slower than the host's"
    )
    threads = [
        text for backend, _, text in data.groups[1].findings() if backend == "threads on 3.14.0t"
    ]
    assert "a free-threaded build has no GIL" in threads[0]


def test_list_shows_why_a_backend_is_unavailable(run_cli: Runner) -> None:
    _, out, _ = run_cli("list")
    row = next(line for line in out.splitlines() if "interpreters" in line)
    if sys.version_info >= (3, 14):
        assert "yes" in row
    else:
        assert "no: needs Python 3.14" in " ".join(out.split())


def test_an_unknown_python_is_one_line_and_exit_2(run_cli: Runner) -> None:
    code, _, err = run_cli("run", "cpu", *TINY, "--python", "python-three")
    assert_one_line_error(code, err, 2, "--python 'python-three'", "give 'host'")


def test_run_across_the_host_and_3_14_from_the_command_line(
    runtime_image: str, run_cli: Runner, tmp_path: Path
) -> None:
    path = tmp_path / "r.json"
    code, out, err = run_cli(
        "run", "cpu", *TINY, "-b", "threads,interpreters", "--python", "host,3.14", "-o", str(path)
    )
    assert code == 0, err
    records = load_results(path).records
    host = [r.backend for r in records if not r.runtime]
    other = {r.runtime for r in records if r.runtime}
    assert len(other) == 1 and next(iter(other)).startswith("3.14.")
    if sys.version_info < (3, 14):
        assert host == ["serial", "threads"]
        skipped = "interpreters skipped on this interpreter: needs Python 3.14"
        assert skipped in " ".join(err.split())
    assert [r.backend for r in records if r.runtime] == ["serial", "threads", "interpreters"]
    assert "(host): one GIL per process" in " ".join(out.split())
    assert "own GIL per interpreter" in " ".join(out.split())


def test_the_cost_model_fits_the_files_own_interpreter_only(tmp_path: Path) -> None:
    results = _two_runtimes(tmp_path)
    fits = {fit.backend: fit.points for fit in analyse(results).fits}
    assert fits == {fit.backend: fit.points for fit in analyse(results.of_runtime()).fits}
    assert fits == {"serial": 1, "threads": 1}


def test_the_csv_tells_the_runtimes_apart(tmp_path: Path) -> None:
    rows = list(csv.DictReader(io.StringIO(render(_two_runtimes(tmp_path), "csv").decode())))
    assert [(row["runtime"], row["backend"]) for row in rows] == [
        ("", "serial"),
        ("", "threads"),
        ("3.14.0t", "serial"),
        ("3.14.0t", "threads"),
    ]


def test_compare_pairs_each_runtime_with_itself(tmp_path: Path) -> None:
    results = _two_runtimes(tmp_path)
    keys = [pair_key(record) for record in results.records]
    assert len(set(keys)) == 4
    assert keys[3][1] == "threads on 3.14.0t"


def test_a_numpy_workload_is_not_measured_on_subinterpreters_and_said_so() -> None:
    numpy_user = next(w for w in builtin_workloads().values() if w.uses_numpy)
    pure = builtin_workloads()["cpu"]

    class NoNumpy(ThreadsBackend):
        runs_numpy = False

    assert not runs_on(numpy_user, NoNumpy()) and runs_on(pure, NoNumpy())
    assert runs_on(numpy_user, ThreadsBackend())


def test_on_3_14_a_numpy_workload_skips_interpreters_with_the_reason(
    runtime_image: str, tmp_path: Path
) -> None:
    path = tmp_path / "r.json"
    command = ["-b", "interpreters", "--python", "3.14", "-o", str(path)]
    done = subprocess.run(
        [sys.executable, "-m", "dist_bench", "run", "blas", *TINY, *command],
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    assert "blas is not measured on interpreters: its tasks use NumPy" in " ".join(
        done.stderr.split()
    )
    assert [r.backend for r in load_results(path).records] == ["serial"]


def test_ctrl_c_lets_the_runtimes_run_stop_and_leaves_nothing_running(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
    no_leftover_children: None,
) -> None:
    # Only this process is interrupted (no terminal): the runtime's run is sent the Ctrl-C.
    monkeypatch.setattr(runtime_launch, "STOP_WAIT_S", 2.0)
    metadata = {**collect_metadata([]), "runtime": _info().to_json()}
    writer = ResultsWriter(None, metadata)
    runtime = resolve_runtime(_wrapper(tmp_path))
    long_run = ["cpu", "--tasks", "2", "--grain", "20ms", "--repeats", "200", "-b", "threads"]
    # Python's own Ctrl-C handler, even where the suite was started with SIGINT ignored (in the
    # background of a shell): the runtime's run then gets it back too.
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    timer = threading.Timer(3.0, os.kill, (os.getpid(), signal.SIGINT))
    timer.start()
    try:
        with pytest.raises(runtime_launch.InterruptedInRuntime) as stopped:
            measure_other_runtimes([runtime], long_run, writer)
    finally:
        timer.cancel()
        signal.signal(signal.SIGINT, previous)
    # It saved before stopping (its metadata at least); what it measured is kept, labelled.
    assert stopped.value.results is not None
    saved = len(stopped.value.results.records)
    assert [r.runtime for r in writer.results.records] == [current_runtime().label] * saved
    # What the runtime's run said on this terminal names no file: its own went with its
    # temporary folder, and the host says where the records are kept. (Its "interrupted" line
    # is there unless it took over STOP_WAIT_S to stop and was terminated: test_cli checks it.)
    assert "kept in" not in capfd.readouterr().err


def test_describing_the_runtime_fixes_no_start_method() -> None:
    script = (
        "import multiprocessing as m\n"
        "from dist_bench.runtime import current_runtime\n"
        "method = current_runtime().start_method\n"
        "assert m.get_start_method(allow_none=True) is None, 'the default got fixed'\n"
        "print(method)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == multiprocessing.get_all_start_methods()[0]
