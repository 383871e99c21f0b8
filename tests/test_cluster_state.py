"""A cluster's saved state, the addresses it gives, and compose's command line: no Docker needed."""

from __future__ import annotations

import json
import os
from pathlib import Path

import dask.config
import pytest

from dist_bench.cluster import (
    ClusterSpec,
    ClusterState,
    Compose,
    configure_local_client,
    load_state,
    local_client_env,
    save_state,
)
from dist_bench.errors import ClusterError, UsageError


def a_state(tmp_path: Path, engine: str = "dask", **spec: object) -> ClusterState:
    """The state ``up`` would save for a cluster of ``engine`` whose secrets are in tmp_path."""
    return ClusterState.of(ClusterSpec(engine, **spec), tmp_path)  # type: ignore[arg-type]


def test_a_saved_state_loads_back_equal(tmp_path: Path) -> None:
    state = a_state(tmp_path, "ray").with_env(DIST_BENCH_BASE_IMAGE="base:1")
    assert load_state(tmp_path) is None  # nothing saved yet
    save_state(tmp_path, state)
    assert load_state(tmp_path) == state
    assert state.env["DIST_BENCH_BASE_IMAGE"] == "base:1"


@pytest.mark.parametrize(
    ("document", "words"),
    [
        ("{not json", "damaged"),
        (json.dumps({"engine": "spark", "env": {}}), "no engine of dask, ray"),
        (json.dumps({"engine": "dask", "env": {"DIST_BENCH_DASK_PORT": 1}}), "not a table"),
        (json.dumps({"engine": "ray", "env": {"DIST_BENCH_SECRETS": "/s"}}), "lacks"),
    ],
)
def test_a_damaged_state_is_one_error_naming_the_file_and_the_fix(
    tmp_path: Path, document: str, words: str
) -> None:
    (tmp_path / "state.json").write_text(document)
    with pytest.raises(ClusterError, match=words) as raised:
        load_state(tmp_path)
    assert str(tmp_path / "state.json") in str(raised.value)
    assert "cluster down" in str(raised.value)


def test_ports_come_from_the_environment_and_a_bad_one_is_a_usage_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DIST_BENCH_DASK_PORT", "18786")
    assert a_state(tmp_path).port("DIST_BENCH_DASK_PORT") == 18786
    monkeypatch.setenv("DIST_BENCH_RAY_CLIENT_PORT", "0")
    with pytest.raises(UsageError, match="DIST_BENCH_RAY_CLIENT_PORT"):
        a_state(tmp_path)


def test_dask_with_tls_needs_its_files_and_without_is_open(tmp_path: Path) -> None:
    secure = a_state(tmp_path)
    endpoints = secure.endpoints(tmp_path)
    assert endpoints.addresses["from this host"].startswith("tls://127.0.0.1:")
    assert secure.inside_address() == "tls://scheduler:8786"
    assert endpoints.client_env["DASK_DISTRIBUTED__COMM__TLS__CA_FILE"] == str(tmp_path / "dask_ca")
    assert not secure.open_to_local_users
    insecure = a_state(tmp_path, insecure=True)
    assert insecure.endpoints(tmp_path).client_env == {}
    assert insecure.open_to_local_users


def test_ray_is_reached_by_ray_client_with_its_token(tmp_path: Path) -> None:
    state = a_state(tmp_path, "ray")
    endpoints = state.endpoints(tmp_path)
    assert state.inside_address() == "head:6379"
    assert endpoints.addresses["Ray Client from this host"].startswith("ray://127.0.0.1:")
    assert endpoints.client_env["RAY_AUTH_TOKEN_PATH"] == str(tmp_path / "ray_token")
    assert endpoints.dashboards == {}


def test_compose_runs_one_project_with_its_engines_profile(tmp_path: Path) -> None:
    compose = Compose(("docker", "compose"), tmp_path, "mine")
    everything = compose.argv("config")
    assert everything[everything.index("--project-name") + 1] == "mine"
    assert [everything[i + 1] for i, a in enumerate(everything) if a == "--profile"] == [
        "dask",
        "ray",
    ]
    ray = compose.of(a_state(tmp_path, "ray"))
    assert ray.argv("ps")[-3:] == ["--profile", "ray", "ps"]
    assert ray.process_env()["DIST_BENCH_SECRETS"] == str(tmp_path)
    assert compose.secrets == tmp_path / "cluster" / ".secrets" / "mine"


def test_a_client_here_gets_our_clusters_settings_and_no_other(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "cluster").mkdir()
    (tmp_path / "cluster" / "Dockerfile").write_text("")
    (tmp_path / "docker-compose.yml").write_text("")
    monkeypatch.chdir(tmp_path)
    compose = Compose(("docker", "compose"), tmp_path, "mine")
    compose.secrets.mkdir(parents=True)
    monkeypatch.setenv("DIST_BENCH_DASK_PORT", "18786")
    save_state(compose.secrets, a_state(compose.secrets))
    (compose.secrets.parent / "broken").mkdir()
    (compose.secrets.parent / "broken" / "state.json").write_text("{")  # skipped, not fatal
    wanted = local_client_env("tls://localhost:18786")
    assert wanted["DASK_DISTRIBUTED__COMM__TLS__CLIENT__CERT"] == str(compose.secrets / "dask_cert")
    assert local_client_env("tls://10.0.0.5:18786") == {}
    with pytest.raises(UsageError, match=r"tls://127\.0\.0\.1:18786"):
        local_client_env("tcp://127.0.0.1:18786")
    for name in wanted:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DASK_DISTRIBUTED__COMM__REQUIRE_ENCRYPTION", "False")  # the user's own
    before = set(os.environ)
    try:
        applied = configure_local_client("tls://127.0.0.1:18786")
    finally:
        # configure_local_client sets variables and re-reads dask's configuration: this
        # process's later tests (and their child processes) must not keep this cluster's TLS
        # files, gone with tmp_path, as theirs.
        for name in set(os.environ) - before:
            del os.environ[name]
        dask.config.refresh()
    assert "DASK_DISTRIBUTED__COMM__REQUIRE_ENCRYPTION" not in applied
    assert set(applied) == set(wanted) - {"DASK_DISTRIBUTED__COMM__REQUIRE_ENCRYPTION"}


def test_compose_v1_gets_the_cfs_variables_as_durations_v2_as_integers(tmp_path: Path) -> None:
    # v1 casts cpu_period/cpu_quota from a variable as a duration ("10000us"); v2 only as an int.
    state_env = {
        "DIST_BENCH_WORKER_CPU_PERIOD_US": "10000",
        "DIST_BENCH_WORKER_CPU_QUOTA_US": "5000",
    }
    v1 = Compose(("docker-compose",), tmp_path, "mine", env=state_env)
    v2 = Compose(("docker", "compose"), tmp_path, "mine", env=state_env)
    assert v1.process_env()["DIST_BENCH_WORKER_CPU_PERIOD_US"] == "10000us"
    assert v1.process_env()["DIST_BENCH_WORKER_CPU_QUOTA_US"] == "5000us"
    assert v2.process_env()["DIST_BENCH_WORKER_CPU_QUOTA_US"] == "5000"
    # Without a cluster's variables (`down`, `status`), v1 still parses the whole file.
    bare = Compose(("/usr/bin/docker-compose",), tmp_path, "mine").process_env()
    assert bare["DIST_BENCH_WORKER_CPU_QUOTA_US"] == "100000us"
