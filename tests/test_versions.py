"""Client/cluster version comparison: hard mismatches refuse, soft ones warn."""

from __future__ import annotations

import pytest

from dist_bench.errors import ClusterConnectionError
from dist_bench.versions import check_versions, client_versions

CLIENT = {
    "node": "client",
    "python": "3.11.7",
    "dask": "2026.8.0",
    "distributed": "2026.8.0",
    "ray": "",
    "numpy": "2.4.6",
    "cloudpickle": "3.1.3",
    "msgpack": "1.2.4",
}


def node(**changes: str) -> dict[str, str]:
    return {**CLIENT, "node": "tcp://10.0.0.2:1234", **changes}


def test_identical_versions_pass() -> None:
    check = check_versions(CLIENT, [node(), node()], ("dask", "distributed"))
    assert check.hard == [] and check.soft == []
    check.raise_if_hard("dask")


def test_a_python_patch_difference_is_soft() -> None:
    check = check_versions(CLIENT, [node(python="3.11.2")], ("dask", "distributed"))
    assert check.hard == []
    assert "python 3.11.2" in check.soft[0]


@pytest.mark.parametrize(
    ("changes", "fragment"),
    [
        ({"python": "3.12.1"}, "python 3.12.1"),
        ({"distributed": "2026.7.1"}, "distributed 2026.7.1"),
        ({"numpy": "1.26.4"}, "numpy 1.26.4"),
        ({"cloudpickle": "2.2.1"}, "cloudpickle 2.2.1"),
        ({"dask": ""}, "dask is missing"),
    ],
)
def test_hard_mismatches_refuse_with_the_fix(changes: dict[str, str], fragment: str) -> None:
    check = check_versions(CLIENT, [node(**changes)], ("dask", "distributed"))
    assert fragment in check.hard[0]
    with pytest.raises(ClusterConnectionError, match="install"):
        check.raise_if_hard("dask")


def test_client_versions_describe_this_interpreter() -> None:
    import platform

    versions = client_versions()
    assert versions["python"] == platform.python_version()
    assert versions["numpy"]
