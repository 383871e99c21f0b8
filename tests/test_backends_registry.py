"""The backend registry: what -b names resolve to, and the rule that --address names one cluster."""

from __future__ import annotations

import pytest

from dist_bench.backends import CLUSTER_BACKENDS, backend_specs, resolve_backends
from dist_bench.errors import UnknownNameError, UsageError


def test_all_is_every_installed_backend_in_registry_order() -> None:
    installed = [name for name, spec in backend_specs().items() if spec.available()]
    assert resolve_backends(["all"]) == installed
    assert "serial" in installed


def test_names_keep_their_order_and_come_once() -> None:
    assert resolve_backends(["processes", "threads", "processes"]) == ["processes", "threads"]


def test_the_cluster_backends_are_those_whose_spec_says_so() -> None:
    assert set(CLUSTER_BACKENDS) == {n for n, s in backend_specs().items() if s.cluster}
    assert "threads" not in CLUSTER_BACKENDS and CLUSTER_BACKENDS


@pytest.mark.parametrize(
    ("names", "address", "error", "words"),
    [
        ([], None, UsageError, "no backend given"),
        (["thread"], None, UnknownNameError, "unknown backend 'thread'"),
        (["threads"], "tcp://127.0.0.1:1", UsageError, "--address needs -b dask or -b ray"),
        (["dask", "ray"], "tcp://127.0.0.1:1", UsageError, "points at one cluster"),
    ],
)
def test_bad_choices_are_usage_errors(
    names: list[str], address: str | None, error: type[Exception], words: str
) -> None:
    with pytest.raises(error, match=words):
        resolve_backends(names, address)


@pytest.mark.parametrize("engine", CLUSTER_BACKENDS)
def test_an_address_goes_with_one_cluster_backend_and_the_others(engine: str) -> None:
    assert resolve_backends(["serial", engine], "tcp://127.0.0.1:1") == ["serial", engine]
