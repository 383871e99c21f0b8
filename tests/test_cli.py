"""The command line: happy paths, and every kind of bad input giving one line and the right exit."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from dist_bench.cli import main
from dist_bench.results import load_results
from tests.conftest import default_ctrl_c
from tests.tiny_disk import TinyDisk

Runner = Callable[..., tuple[int, str, str]]

TINY = ["--tasks", "4", "--grain", "2ms", "--repeats", "2", "--warmup", "0"]


@pytest.fixture
def run_cli(capsys: pytest.CaptureFixture[str]) -> Runner:
    """Run ``dist-bench ARGS`` in-process; return (exit code, stdout, stderr)."""

    def run(*args: str) -> tuple[int, str, str]:
        with pytest.raises(SystemExit) as exited:
            main(list(args))
        captured = capsys.readouterr()
        code = exited.value.code
        return (code if isinstance(code, int) else 1), captured.out, captured.err

    return run


def assert_one_line_error(code: int, err: str, expected_code: int, *fragments: str) -> None:
    assert code == expected_code, err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, f"expected one line, got: {err!r}"
    assert lines[0].startswith("error:")
    assert "Traceback" not in err
    for fragment in fragments:
        assert fragment in lines[0]


def test_list_shows_workloads_and_backends(run_cli: Runner) -> None:
    code, out, _ = run_cli("list")
    assert code == 0
    for name in ("cpu", "blas", "io", "data", "wordcount", "serial", "threads", "processes"):
        assert name in out


def test_run_writes_verified_results_and_report_rerenders_them(
    run_cli: Runner, tmp_path: Path
) -> None:
    output = tmp_path / "r.json"
    code, out, err = run_cli("run", "cpu", "-b", "threads,processes", *TINY, "-o", str(output))
    assert code == 0, err
    results = load_results(output)
    assert [r.backend for r in results.records] == ["serial", "threads", "processes"]
    assert all(r.verified and len(r.wall_s) == 2 for r in results.records)
    assert results.metadata["cores"] >= 1 and results.metadata["python"]
    assert {run.backend for run in results.backends} == {"serial", "threads", "processes"}
    assert all(run.shutdown_s is not None for run in results.backends)
    assert "speedup" in out
    code, again, _ = run_cli("report", str(output))
    assert code == 0 and "processes" in again


def test_chunk_modes_are_measured_side_by_side(run_cli: Runner, tmp_path: Path) -> None:
    output = tmp_path / "r.json"
    args = ["--tasks", "400", "--grain", "20us", "--repeats", "2", "--warmup", "0"]
    code, out, err = run_cli(
        "run", "cpu", "-b", "processes", *args, "--chunk", "1,auto", "-o", str(output)
    )
    assert code == 0, err
    results = load_results(output)
    rows = [(r.backend, r.chunk_auto) for r in results.records]
    assert rows == [("serial", True), ("processes", False), ("processes", True)]
    assert all(r.verified for r in results.records)
    naive = results.records[1]
    assert naive.chunk == 1
    runs = {run.backend: run for run in results.backends}
    assert runs["processes"].dispatch_s is not None and runs["processes"].dispatch_s >= 0
    assert "chunk" in out and "auto" in out  # the column, and the automatic rows


def test_a_weak_worker_sweep_grows_the_tasks_with_the_workers(
    run_cli: Runner, tmp_path: Path
) -> None:
    output = tmp_path / "weak.json"
    code, out, err = run_cli(
        "run", "cpu", "-b", "threads", "-w", "1,2", "--weak", *TINY, "-o", str(output)
    )
    assert code == 0, err
    records = load_results(output).records
    threads = sorted((r.workers, r.tasks, r.scaling) for r in records if r.backend == "threads")
    assert threads == [(1, 4, "weak"), (2, 8, "weak")]
    assert sorted(r.tasks for r in records if r.backend == "serial") == [4, 8]
    assert "threads: weak scaling" in out


def test_an_existing_results_file_is_appended_to(run_cli: Runner, tmp_path: Path) -> None:
    output = tmp_path / "r.json"
    for _ in range(2):
        code, _, err = run_cli("run", "cpu", "-b", "serial", *TINY, "-o", str(output))
        assert code == 0, err
    assert len(load_results(output).records) == 2


#: ``cluster up`` that can never start a cluster: its project name breaks compose's rule.
NO_CLUSTER = ["cluster", "up", "--engine", "dask", "--project", "Not-A-Project"]


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (["run", "nosuch"], ["unknown workload 'nosuch'", "cpu"]),
        (["run", "cpu", "-b", "threads,gpu"], ["unknown backend 'gpu'", "processes"]),
        (["run", "cpu", "--tasks", "0"], ["'0' must be 1 or more"]),
        (["run", "cpu", "--tasks", "-3"], ["must be 1 or more"]),
        (["run", "cpu", "--tasks", "many"], ["'many' is not a whole number"]),
        (["run", "cpu", "--grain", "0"], ["must be above zero"]),
        (["run", "cpu", "--grain", "fast"], ["'fast' is not a duration"]),
        (["run", "cpu", "--grain", "3parsecs"], ["unknown time unit"]),
        (["run", "data", "--bytes", "-1"], ["not a byte size"]),
        (["run", "cpu", "--workers", "0"], ["0"]),
        (["run", "cpu", "--repeats", "0"], ["repeats"]),
        (["run", "cpu", "-b", ""], ["no backend"]),
        (["run", "cpu", "-b", "threads", "--address", "tcp://x:1"], ["--address needs"]),
        (["run", "cpu", "--start-method", "teleport"], ["teleport"]),
        (["run", "cpu", "--chunk", "0"], ["neither 'auto' nor a positive number"]),
        (["run", "cpu", "--chunk", "1,big"], ["'big'"]),
        # Infinity (float("1e400")) and sizes past any machine: refused, saying the bound.
        (["run", "data", "--bytes", "1e400"], ["'1e400'", "at most 1.0 TiB"]),
        # Within the bound, but not within this machine (was numpy's MemoryError, a traceback).
        (["run", "data", "-b", "serial", "--tasks", "16", "--bytes", "1TiB"], ["memory"]),
        (["run", "cpu", "--grain", "1e400"], ["'1e400'", "at most 3600 s"]),
        (["run", "cpu", "--grain", "2min,61min"], ["'61min'", "at most 3600 s"]),
        (["run", "cpu", "--tasks", "1000000000"], ["at most 100,000,000"]),
        (["run", "cpu", "--tasks", "²"], ["'²' is not a whole number"]),
        (["run", "cpu", "--chunk", "²"], ["'²'"]),
        (["cutover", "--budget", "1e400"], ["'1e400'", "at most 86400 s"]),
        (["advise", "--tasks", "8", "--grain", "1e400"], ["at most 3600 s"]),
        (["advise", "--tasks", "8", "--grain", "1ms", "--bytes", "1e400"], ["at most 1.0 TiB"]),
        # NO_CLUSTER: were a check lost, the invalid project name still stops `up` before Docker.
        ([*NO_CLUSTER, "--memory", "1e400"], ["at most 1.0 TiB"]),
        ([*NO_CLUSTER, "--cpus", "nan"], ["'nan' is not a finite"]),
        ([*NO_CLUSTER, "--cpus", "inf"], ["'inf' is not a finite"]),
        (["compare", "a.json", "b.json", "--threshold", "inf"], ["'inf' is not a finite"]),
        # Process pools start every worker at once: a typo must not fork a thousand processes.
        (["run", "cpu", "-w", "100000"], ["'100000' is too many workers: at most 1,024"]),
        (["run", "cpu", "--repeats", "1" + "0" * 400], ["1<=x<=10000"]),  # was OverflowError
        ([*NO_CLUSTER, "--workers", "5000"], ["1<=x<=1024"]),
        (["report"], ["RESULTS_FILE"]),
        (["frobnicate"], ["frobnicate"]),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    run_cli: Runner, args: list[str], fragments: list[str]
) -> None:
    code, out, err = run_cli(*args)
    assert_one_line_error(code, err, 2, *fragments)
    assert out == "", "bad input must fail before anything is measured or planned"


#: Bad worker sweeps (after ``run cpu``), each with the words its one line must say. Weak scaling
#: needs a curve: two worker counts, one task count, a backend besides serial to sweep.
BAD_WORKER_SWEEPS = {
    "-w 1,2000": "'2000' is too many workers",
    "-w 0,2": "'0' must be 1 or more",
    "-w 2,two": "'two' is not a whole number",
    "-w 1,1": "each worker count once",
    "--weak": "--weak needs at least 2 worker counts",
    "-w 2 --weak": "--weak needs at least 2 worker counts",
    "-w 1,2 --weak --tasks 4,8": "one --tasks",
    "-b serial -w 1,2 --weak": "besides serial",
}


@pytest.mark.parametrize(("args", "fragment"), BAD_WORKER_SWEEPS.items())
def test_a_bad_worker_sweep_is_one_line_and_exit_2(
    run_cli: Runner, args: str, fragment: str
) -> None:
    code, out, err = run_cli("run", "cpu", *args.split())
    assert_one_line_error(code, err, 2, fragment)
    assert out == ""


def test_an_unwritable_output_fails_before_measuring(run_cli: Runner, tmp_path: Path) -> None:
    missing = tmp_path / "no" / "such" / "folder" / "r.json"
    code, out, err = run_cli("run", "cpu", "-o", str(missing))
    assert_one_line_error(code, err, 2, "does not exist")
    assert out == ""
    code, _, err = run_cli("run", "cpu", "-o", str(tmp_path))
    assert_one_line_error(code, err, 2, "directory")


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        ("{not json", "not JSON"),
        ('{"name": "something else"}', "not a dist-bench results file"),
        ('{"schema": "dist-bench/results", "version": 99}', "version 99"),
        ('{"schema": "dist-bench/results", "version": 1, "metadata": {}}', "damaged"),
        ('{"schema": "dist-bench/results", "version": [1]}', "version is [1]"),
        (
            '{"schema": "dist-bench/results", "version": 1, "metadata": {}, "backends": [],'
            ' "records": [{"workload": "cpu", "backend": "serial", "tasks": "4", "grain_s": 0.1,'
            ' "bytes_per_task": 0, "units": 1, "workers": 1}]}',
            'records[0].tasks is "4", not int',
        ),
    ],
)
def test_malformed_or_foreign_results_files_are_refused(
    run_cli: Runner, tmp_path: Path, content: str, fragment: str
) -> None:
    path = tmp_path / "r.json"
    path.write_text(content)
    code, _, err = run_cli("report", str(path))
    assert_one_line_error(code, err, 2, fragment)
    code, _, err = run_cli("run", "cpu", *TINY, "-o", str(path))
    assert_one_line_error(code, err, 2, fragment)
    assert path.read_text() == content, "a foreign file must never be overwritten"


def test_results_from_another_host_are_not_mixed(run_cli: Runner, tmp_path: Path) -> None:
    path = tmp_path / "r.json"
    code, _, _ = run_cli("run", "cpu", "-b", "serial", *TINY, "-o", str(path))
    assert code == 0
    document = json.loads(path.read_text())
    document["metadata"]["host"] = "elsewhere"
    path.write_text(json.dumps(document))
    code, _, err = run_cli("run", "cpu", "-b", "serial", *TINY, "-o", str(path))
    assert_one_line_error(code, err, 2, "elsewhere")


def test_missing_user_workload_file(run_cli: Runner, tmp_path: Path) -> None:
    code, _, err = run_cli("run", str(tmp_path / "absent.py"))
    assert_one_line_error(code, err, 2, "does not exist")


def test_user_file_without_a_workload(run_cli: Runner, write_workload: Callable[..., Path]) -> None:
    path = write_workload("def task(x):\n    return x\n")
    code, _, err = run_cli("run", str(path))
    assert_one_line_error(code, err, 2, "defines no workload", "WORKLOAD = Workload")


def test_user_file_that_fails_to_import(
    run_cli: Runner, write_workload: Callable[..., Path]
) -> None:
    path = write_workload("import no_such_module_anywhere\n", name="broken.py")
    code, _, err = run_cli("run", str(path))
    assert_one_line_error(code, err, 2, "failed to import", "no_such_module_anywhere")


RAISING = """
from dist_bench import Job, Workload

def make_tasks(job: Job):
    return [(i,) for i in range(job.tasks)]

def task(i):
    if i == 3:
        raise ValueError("bad record 3")
    return i

WORKLOAD = Workload(name="raising", summary="raises", make_tasks=make_tasks, task=task,
                    calibrated=False, default_tasks=5)
"""


def test_a_workload_that_raises_names_the_task_and_cause(
    run_cli: Runner, write_workload: Callable[..., Path]
) -> None:
    code, _, err = run_cli("run", str(write_workload(RAISING, name="raising.py")), "-b", "serial")
    assert_one_line_error(code, err, 1, "task 3", "ValueError", "bad record 3")


# Answers differently (or raises) when run outside the main thread: the serial reference and
# the serial backend agree, the threads backend does not.
THREAD_SENSITIVE = """
import threading
from dist_bench import Job, Workload

MODE = "{mode}"

def make_tasks(job: Job):
    return [(i,) for i in range(job.tasks)]

def task(i):
    if threading.current_thread() is threading.main_thread():
        return i
    if MODE == "wrong":
        return i + 1
    if MODE == "interrupt":
        raise KeyboardInterrupt
    raise RuntimeError("only works in the main thread")

WORKLOAD = Workload(name="sensitive_{mode}", summary="x", make_tasks=make_tasks, task=task,
                    calibrated=False, default_tasks=4)
"""


SensitiveRun = Callable[[str, str], tuple[int, str, str, Path]]


@pytest.fixture
def run_sensitive(
    run_cli: Runner, write_workload: Callable[..., Path], tmp_path: Path
) -> SensitiveRun:
    """Run ``THREAD_SENSITIVE`` in a mode on some backends: (code, stdout, stderr, results)."""

    def run(mode: str, backends: str) -> tuple[int, str, str, Path]:
        path = write_workload(THREAD_SENSITIVE.format(mode=mode), name=f"{mode}.py")
        output = tmp_path / "r.json"
        code, out, err = run_cli("run", str(path), "-b", backends, *TINY[4:], "-o", str(output))
        return code, out, err, output

    return run


def test_a_wrong_answer_is_a_failure_not_a_speedup(run_sensitive: SensitiveRun) -> None:
    code, out, err, output = run_sensitive("wrong", "threads")
    assert_one_line_error(code, err, 1, "threads", "differs from the serial answer")
    assert "WRONG" in out
    verdicts = {r.backend: r.verified for r in load_results(output).records}
    assert verdicts == {"serial": True, "threads": False}


def test_a_backend_where_tasks_fail_is_recorded_and_the_run_goes_on(
    run_sensitive: SensitiveRun,
) -> None:
    code, _, err, output = run_sensitive("raise", "threads,processes")
    assert_one_line_error(code, err, 1, "threads", "RuntimeError")
    records = {r.backend: r for r in load_results(output).records}
    assert records["threads"].error is not None
    assert records["processes"].verified, "the run must go on after a failing backend"


def test_an_interrupt_keeps_what_was_measured(run_sensitive: SensitiveRun) -> None:
    code, _, err, output = run_sensitive("interrupt", "threads")
    assert_one_line_error(code, err, 130, "interrupted", "1 measurement(s)", str(output))
    assert [r.backend for r in load_results(output).records] == ["serial"]


@pytest.mark.parametrize("as_runtime", [False, True], ids=["run", "a runtime's run"])
def test_ctrl_c_from_outside_exits_130_and_keeps_the_file(tmp_path: Path, as_runtime: bool) -> None:
    output = tmp_path / "r.json"
    command = [
        sys.executable,
        "-m",
        "dist_bench",
        "run",
        "cpu",
        "-b",
        "processes",
        "--tasks",
        "4",
        "--grain",
        "50ms",
        "--repeats",
        "50",
        "-o",
        str(output),
        # As another interpreter's run for `run --python`: its host reads the file and deletes it.
        *(["--as-runtime"] if as_runtime else []),
    ]
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=default_ctrl_c,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if output.exists() and load_results(output).records:
            break
        time.sleep(0.2)
    else:
        process.kill()
        pytest.fail("the serial measurement never reached the results file")
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    assert "interrupted" in err and "Traceback" not in err
    [said] = [line for line in err.splitlines() if line.startswith("error:")]
    kept = "" if as_runtime else f"; kept in {output}"
    assert said == f"error: interrupted: 1 measurement(s) finished{kept}"
    assert [r.backend for r in load_results(output).records] == ["serial"]
    assert not [p for p in _children_named("dist_bench") if p != os.getpid()]


def _children_named(fragment: str) -> list[int]:
    import psutil

    return [
        p.pid
        for p in psutil.Process().children(recursive=True)
        if fragment in " ".join(p.cmdline())
    ]


def test_plot_is_written_and_bad_plot_paths_fail_first(run_cli: Runner, tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    plot = tmp_path / "speedups.png"
    output = tmp_path / "r.json"
    code, _, err = run_cli(
        "run", "cpu", "-b", "processes", "--grain", "1ms,3ms", *TINY[:2], *TINY[4:],
        "-o", str(output), "--plot", str(plot),
    )  # fmt: skip
    assert code == 0, err
    assert plot.read_bytes().startswith(b"\x89PNG")
    again = tmp_path / "again.svg"
    code, _, err = run_cli("report", str(output), "--plot", str(again))
    assert code == 0, err
    assert "<svg" in again.read_text()
    code, _, err = run_cli("run", "cpu", "--plot", str(tmp_path / "speedups.gif"))
    assert_one_line_error(code, err, 2, ".png")
    code, _, err = run_cli("run", "cpu", "--plot", str(tmp_path / "no" / "p.png"))
    assert_one_line_error(code, err, 2, "does not exist")


@pytest.mark.engine
@pytest.mark.parametrize(
    ("engine", "address"), [("dask", "tcp://127.0.0.1:9"), ("ray", "127.0.0.1:9")]
)
def test_an_unreachable_cluster_is_one_line(run_cli: Runner, engine: str, address: str) -> None:
    pytest.importorskip("distributed" if engine == "dask" else "ray")
    code, _, err = run_cli("run", "cpu", "-b", engine, "--address", address, *TINY)
    assert_one_line_error(code, err, 1, address)


@pytest.mark.parametrize(
    ("engine", "address"),
    [
        ("dask", "ray://127.0.0.1:10001"),
        ("ray", "tcp://127.0.0.1:8786"),
        # "²".isdigit() is true and int("²") raises: the port check used to pass it to int().
        ("dask", "tcp://h:²"),
        ("ray", "h:²"),
        ("ray", "ray://h:²"),
        ("dask", "tcp://h:99999"),
    ],
)
def test_a_wrong_address_scheme_is_a_usage_error(
    run_cli: Runner, engine: str, address: str
) -> None:
    pytest.importorskip("distributed" if engine == "dask" else "ray")
    code, _, err = run_cli("run", "cpu", "-b", engine, "--address", address)
    assert_one_line_error(code, err, 2, address)


def test_a_missing_engine_names_the_install_command(run_cli: Runner) -> None:
    from dist_bench.backends import _REGISTRY as registry
    from dist_bench.backends import BackendSpec, register_backend

    register_backend(
        BackendSpec(
            "absent", "absent_engine:Backend", "an engine that is not installed",
            requires=("absent_engine_module",), install_hint="pip install absent-engine",
        )
    )  # fmt: skip
    try:
        code, _, err = run_cli("run", "cpu", "-b", "absent")
        assert_one_line_error(code, err, 2, "absent_engine_module", "pip install absent-engine")
        code, out, _ = run_cli("list")
        assert "pip install absent-engine" in out
    finally:
        del registry["absent"]


@pytest.mark.parametrize("value", ["abc", "99999", "0", "²"])
def test_a_bad_port_variable_is_one_line_naming_it(
    run_cli: Runner, monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("DIST_BENCH_DASK_PORT", value)
    # `down` of a project that never ran reads the variable as `up` does (cluster.ClusterState.of),
    # and, were the check ever lost, starts nothing (`up` with port 0 would start a cluster).
    code, _, err = run_cli("cluster", "down", "--project", "dist-bench-port-check")
    if code == 1 and "Docker" in err:
        pytest.skip(f"the check runs after Docker is found: {err.strip()}")
    assert_one_line_error(code, err, 2, "DIST_BENCH_DASK_PORT", repr(value), "1 to 65535")


def dist_bench_command(*args: str) -> list[str]:
    """``dist-bench ARGS`` as a separate process of this interpreter."""
    return [sys.executable, "-m", "dist_bench", *args]


def test_a_workload_file_that_exits_on_import_is_one_line(
    write_workload: Callable[..., Path],
) -> None:
    # In a real process: SystemExit is how a script ends, so it would end dist-bench silently.
    path = write_workload("import sys\nsys.exit(3)\n", name="script.py")
    done = subprocess.run(
        dist_bench_command("run", str(path)), capture_output=True, text=True, timeout=60
    )
    assert_one_line_error(
        done.returncode, done.stderr, 2, str(path), "sys.exit(3)", "__name__ == '__main__'"
    )


@pytest.mark.parametrize(
    "args",
    [
        ["run", "cpu", "-b", "serial", *TINY, "-o", "closed/r.json"],
        ["cutover", "cpu", "-o", "closed/c.json"],
        ["report", "r.json", "-o", "closed/report.md"],
    ],
    ids=["run", "cutover", "report"],
)
def test_an_output_folder_the_user_cannot_enter_fails_before_measuring(
    tmp_path: Path, args: list[str]
) -> None:
    """As a user meets it: a folder of mode 000, which refuses every process but root's.

    Root passes any permission check by its capabilities CAP_DAC_OVERRIDE and
    CAP_DAC_READ_SEARCH; as root the command runs with those two dropped (capsh), so the kernel
    checks it exactly as it checks any other user. (Switching to ``nobody`` would not do: the
    interpreter under /root is closed to it.) Skipped only as root without capsh.
    """
    import shutil

    command = dist_bench_command(*args)
    if os.geteuid() == 0:
        capsh = shutil.which("capsh")
        if capsh is None:
            pytest.skip("as root, dropping the permission override needs capsh (libcap2-bin)")
        drop = "--drop=cap_dac_override,cap_dac_read_search"
        command = [capsh, drop, "--", "-c", 'exec "$0" "$@"', *command]
    closed = tmp_path / "closed"
    closed.mkdir()
    closed.chmod(0o000)
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=120, cwd=tmp_path)
    finally:
        closed.chmod(0o700)
    assert_one_line_error(done.returncode, done.stderr, 2, args[-1], "Permission denied")
    assert done.stdout == "", "a bad path must fail before measuring"


def test_two_runs_on_one_file_the_second_is_refused_at_start(tmp_path: Path) -> None:
    """Two real processes: the second is refused while the first writes; none is left locked."""
    output = tmp_path / "r.json"
    # serial only: no worker processes, so killing the run leaves nothing behind.
    long_run = dist_bench_command(
        "run", "cpu", "-b", "serial", "--tasks", "4", "--grain", "50ms", "--repeats", "100",
        "-o", str(output),
    )  # fmt: skip
    first = subprocess.Popen(long_run, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        _wait_for_file(output, first)
        second = subprocess.run(
            dist_bench_command("run", "cpu", "-b", "serial", *TINY, "-o", str(output)),
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert_one_line_error(
            second.returncode, second.stderr, 2, str(output), "another dist-bench run"
        )
        assert first.poll() is None, "the refused run must not disturb the first"
    finally:
        # SIGKILL, not Ctrl-C: even a run that cannot clean up must not leave the file locked.
        first.kill()
        first.communicate(timeout=60)
    kept = len(load_results(output).records)
    third = subprocess.run(
        dist_bench_command("run", "cpu", "-b", "serial", *TINY, "-o", str(output)),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert third.returncode == 0, third.stderr
    assert len(load_results(output).records) == kept + 1


def _wait_for_file(output: Path, process: subprocess.Popen[str]) -> None:
    """Wait until ``process`` wrote ``output`` (it holds the lock from then on)."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        if output.exists():
            return
        time.sleep(0.1)
    process.kill()
    pytest.fail(f"{output} was never written: {process.communicate()[1][-500:]}")


def test_a_full_disk_mid_run_is_one_line_exit_1_and_the_file_intact(
    tiny_disk: TinyDisk,
) -> None:
    output = tiny_disk.path / "r.json"
    # Many small records: the 8 KiB disk holds the first few, not all.
    sizes = ["--tasks", "1,2,3,4,5,6,7,8", "--grain", "1ms", "--repeats", "2", "--warmup", "0"]
    done = tiny_disk.run(
        sys.executable, "-m", "dist_bench", "run", "cpu", "-b", "threads", *sizes, "-o", str(output)
    )
    assert_one_line_error(
        done.code, done.err, 1, "cannot save results", str(output), "No space left on device",
        "intact",
    )  # fmt: skip
    saved = load_results(done.files / "r.json").records
    assert saved, "the records saved before the disk filled must still be there"
    assert "speedup" in done.out, "what this run measured is shown even though it was not saved"
    assert done.names() == [".r.json.lock", "r.json"]


def test_the_plan_of_a_run_adds_up_its_serial_work() -> None:
    from dataclasses import replace

    from dist_bench.measure import MeasureSettings
    from dist_bench.sweep_plan import SizeGrid, SweepPlan
    from dist_bench.workload import resolve_workloads

    plan = SweepPlan(
        workloads=resolve_workloads(["cpu"]),
        backends=["threads"],
        sizes=SizeGrid(tasks=[10, 20], grain_s=[0.5]),
        settings=MeasureSettings(repeats=2, warmup=1),
        chunks=(1, "auto"),
    )
    estimate = plan.estimate()
    # References: (10 + 20) x 0.5 s. Jobs: serial runs auto only, threads both modes: 3 x 3 each.
    assert estimate.reference_s == pytest.approx(15.0)
    assert estimate.total_s == pytest.approx(15.0 * (1 + 9))
    assert estimate.driver_bytes == 0, "cpu moves no data"
    moving = replace(
        plan,
        workloads=resolve_workloads(["cpu", "data"]),
        sizes=SizeGrid(tasks=[4, 8], grain_s=[0.5], bytes_per_task=[1000, 3000]),
    )
    # The largest job's data, inputs and the reference's outputs: 2 x 8 tasks x 3000 bytes.
    assert moving.estimate().driver_bytes == 2 * 8 * 3000


def test_a_huge_run_says_its_plan_first_and_shows_an_eta_on_a_terminal(tmp_path: Path) -> None:
    """On a pseudo-terminal, as a user sees it: the plan line, then a bar with an ETA."""
    import pty
    import re

    leader, follower = pty.openpty()
    process = subprocess.Popen(
        dist_bench_command("run", "cpu", "--tasks", "100000", "--grain", "200ms"),
        stdin=subprocess.DEVNULL,
        stdout=follower,
        stderr=follower,
        cwd=tmp_path,
    )
    os.close(follower)
    plain = ""  # what the terminal showed, colours and cursor moves taken out
    eta = re.compile(r"serial reference of cpu.*ETA\s+\d+:\d\d:\d\d")
    deadline = time.monotonic() + 90
    try:
        while time.monotonic() < deadline and not eta.search(plain):
            try:
                shown = os.read(leader, 4096).decode(errors="replace")
            except OSError:  # the process ended: the terminal is gone
                break
            plain += re.sub(r"\x1b\[[0-9;?]*[a-zA-Z]", "", shown)
    finally:
        process.kill()
        process.wait(timeout=60)
        os.close(leader)
    assert "plan: the serial reference alone takes about 5.6 h" in plain, plain[-2000:]
    assert eta.search(plain), plain[-2000:]
    assert plain.index("plan:") < plain.index("serial reference of cpu")
