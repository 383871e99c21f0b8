"""`dist-bench cutover` and `dist-bench advise` through the command line, on real backends.

A tiny workload (grains of microseconds) keeps the search short; what is checked is the shape of
the output and the files, never a timing.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from dist_bench.costmodel import analyse
from dist_bench.results import load_results
from tests import test_cli
from tests.conftest import SQUARES_WORKLOAD
from tests.test_cli import Runner, assert_one_line_error

#: The in-process runner fixture of the CLI tests, shared.
run_cli = test_cli.run_cli


@pytest.fixture
def squares(write_workload: Callable[[str, str], Path]) -> Path:
    return write_workload(SQUARES_WORKLOAD, "squares.py")


def test_cutover_saves_verified_records_and_prints_fits_and_projections(
    run_cli: Runner, squares: Path, tmp_path: Path
) -> None:
    code, out, err = run_cli(
        "cutover", str(squares), "-b", "threads,processes", "--budget", "5s",
        "--repeats", "2", "--project-nodes", "2,4", "-o", str(tmp_path),
    )  # fmt: skip
    assert code == 0, err
    saved = tmp_path / "cutover.json"
    results = load_results(saved)
    assert {r.backend for r in results.records} == {"serial", "threads", "processes"}
    assert all(r.verified and len(r.wall_s) == 2 for r in results.records)
    # The grain and task series were both swept (no bytes: this workload moves none).
    assert len({r.grain_s for r in results.records}) >= 3
    assert len({r.tasks for r in results.records}) >= 3
    assert "squares: fitted costs" in out
    # Whether a step up wins on a loaded machine varies: the summary says which, per workload.
    assert ("squares: where each step up starts to win" in out) != (
        "squares: no step up wins inside the measured range" in out
    )
    assert "PROJECTION, not a measurement" in out
    assert str(saved) in out
    # The reports beside it, named after it; the HTML holds the crossovers' findings.
    for suffix in (".html", ".md", ".csv", ".png"):
        assert (tmp_path / f"cutover{suffix}").stat().st_size > 0, suffix
    assert "Where each step up starts to win" in (tmp_path / "cutover.html").read_text()
    # The saved file alone regenerates the analysis: fits for every backend.
    analysis = analyse(results, project_nodes=(2, 4))
    assert {fit.backend for fit in analysis.fits} == {"serial", "threads", "processes"}
    assert [p.nodes for p in analysis.projections] == [2, 4]
    assert json.dumps(analysis.to_json())

    code, out, err = run_cli("advise", "--tasks", "100", "--grain", "1ms", "--from", str(saved))
    assert code == 0, err
    assert "predicted from the saved fit" in out
    ranks = [line for line in out.splitlines() if line.startswith("│")]
    assert len(ranks) == 3
    assert "extrapolated" in out  # 100 tasks of 1 ms lies beyond what this sweep measured


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (["cutover", "nosuch"], ["unknown workload 'nosuch'"]),
        (["cutover", "cpu", "-b", "gpu"], ["unknown backend 'gpu'"]),
        (["cutover", "cpu", "--budget", "soon"], ["'soon' is not a duration"]),
        (["cutover", "cpu", "--budget", "0"], ["must be above zero"]),
        (["cutover", "cpu", "--repeats", "1"], ["repeats"]),
        (["cutover", "cpu", "--project-nodes", "2,zero"], ["'zero' is not a whole number"]),
        (["advise", "--grain", "5ms"], ["--tasks"]),
        (["advise", "--tasks", "8", "--grain", "5 parsecs"], ["unknown time unit"]),
        (["advise", "--tasks", "8", "--grain", "5ms", "--bytes", "lots"], ["not a byte size"]),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    run_cli: Runner, args: list[str], fragments: list[str]
) -> None:
    code, _, err = run_cli(*args)
    assert_one_line_error(code, err, 2, *fragments)


def test_cutover_refuses_an_unwritable_output_before_measuring(
    run_cli: Runner, tmp_path: Path
) -> None:
    code, out, err = run_cli("cutover", "cpu", "-o", str(tmp_path / "no" / "such" / "r.json"))
    assert_one_line_error(code, err, 2, "does not exist")
    assert out == ""


def test_cutover_into_a_new_folder_makes_it(run_cli: Runner, squares: Path, tmp_path: Path) -> None:
    folder = tmp_path / "made" / "here"
    code, _, err = run_cli(
        "cutover", str(squares), "-b", "threads", "--budget", "2s", "--repeats", "2",
        "-o", f"{folder}/",
    )  # fmt: skip
    assert code == 0, err
    assert load_results(folder / "cutover.json").records
    assert (folder / "cutover.html").stat().st_size > 0


def test_cutover_into_a_folder_that_cannot_be_made_is_one_line(
    run_cli: Runner, tmp_path: Path
) -> None:
    in_the_way = tmp_path / "a-file"
    in_the_way.write_text("")
    code, out, err = run_cli("cutover", "cpu", "-o", f"{in_the_way}/sub/")
    assert_one_line_error(code, err, 2, "cannot make the folder")
    assert out == ""


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (None, "does not exist"),
        ("{not json", "not JSON"),
        ('{"schema": "dist-bench/results", "version": 1, "metadata": {}, "backends": [], '
         '"records": []}', "no verified measurement"),
    ],
)  # fmt: skip
def test_advise_with_a_missing_or_useless_file_is_one_line_and_exit_2(
    run_cli: Runner, tmp_path: Path, content: str | None, fragment: str
) -> None:
    path = tmp_path / "fit.json"
    if content is not None:
        path.write_text(content)
    code, _, err = run_cli("advise", "--tasks", "8", "--grain", "5ms", "--from", str(path))
    assert_one_line_error(code, err, 2, fragment)
