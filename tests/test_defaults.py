"""Defaults defined once: the command line offers what the library's plans use; the -o rule."""

from __future__ import annotations

import os
from pathlib import Path

import click
import pytest

from dist_bench import defaults
from dist_bench.backends import BackendOptions
from dist_bench.cli import cli
from dist_bench.cutover import CutoverPlan
from dist_bench.errors import UsageError
from dist_bench.measure import MeasureSettings
from dist_bench.units import parse_duration


def default_of(command: str, option: str) -> object:
    """The default ``dist-bench COMMAND`` shows for ``option`` (a parameter name)."""
    params = {param.name: param for param in cli.commands[command].params}
    parameter = params[option]
    assert isinstance(parameter, click.Option)
    return parameter.default


def test_run_offers_the_measurement_defaults_of_the_library() -> None:
    settings = MeasureSettings()
    assert default_of("run", "repeats") == settings.repeats == defaults.REPEATS
    assert default_of("run", "warmup") == settings.warmup == defaults.WARMUP
    assert default_of("run", "blas_threads") == BackendOptions().blas_threads


def test_cutover_offers_the_search_defaults_of_the_library() -> None:
    plan = CutoverPlan(workloads=[], backends=[])
    assert parse_duration(str(default_of("cutover", "budget"))) == plan.budget_s
    assert default_of("cutover", "repeats") == plan.settings.repeats == defaults.CUTOVER_REPEATS
    assert plan.settings.warmup == defaults.WARMUP
    assert default_of("cutover", "output_arg") == str(defaults.CUTOVER_FILE)
    assert default_of("advise", "source") == str(defaults.CUTOVER_FILE)


def test_a_file_is_taken_as_it_is_and_its_missing_folder_is_not_made(tmp_path: Path) -> None:
    wanted = tmp_path / "missing" / "mine.json"
    assert defaults.cutover_results_path(str(wanted)) == wanted
    assert not wanted.parent.exists()


def test_a_folder_gets_cutover_json_and_is_made_when_it_ends_in_a_slash(tmp_path: Path) -> None:
    assert defaults.cutover_results_path(str(tmp_path)) == tmp_path / "cutover.json"
    made = tmp_path / "new"
    assert defaults.cutover_results_path(f"{made}{os.sep}") == made / "cutover.json"
    assert made.is_dir()


def test_the_default_makes_its_own_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert defaults.cutover_results_path(str(defaults.CUTOVER_FILE)) == defaults.CUTOVER_FILE
    assert (tmp_path / defaults.CUTOVER_FILE.parent).is_dir()


def test_a_folder_that_cannot_be_made_is_a_usage_error(tmp_path: Path) -> None:
    in_the_way = tmp_path / "a-file"
    in_the_way.write_text("")
    with pytest.raises(UsageError, match="cannot make the folder"):
        defaults.cutover_results_path(f"{in_the_way}/sub/")


def test_cluster_up_offers_the_defaults_of_a_cluster_spec() -> None:
    from dist_bench.cluster import DEFAULT_PROJECT, ClusterSpec
    from dist_bench.units import parse_bytes

    up = {param.name: param for param in cli.commands["cluster"].commands["up"].params}  # type: ignore[attr-defined]
    spec = ClusterSpec("dask")
    assert up["workers"].default == spec.workers
    assert up["cpus"].default == spec.cpus
    assert parse_bytes(str(up["memory"].default)) == spec.memory_bytes
    assert parse_duration(str(up["timeout"].default)) == defaults.CLUSTER_UP_TIMEOUT_S
    assert up["project"].default == spec.project == DEFAULT_PROJECT
