"""``--address`` parsing for both engines: pure, no engine imported, bad input a usage error."""

from __future__ import annotations

import subprocess
import sys

import pytest

from dist_bench.backends.dask.address import normalize_address
from dist_bench.backends.ray.address import parse_address
from dist_bench.errors import UsageError


@pytest.mark.parametrize(
    ("given", "normalized"),
    [("127.0.0.1:8786", "tcp://127.0.0.1:8786"), ("tls://scheduler:8786", "tls://scheduler:8786")],
)
def test_dask_addresses_are_normalized(given: str, normalized: str) -> None:
    assert normalize_address(given) == normalized


@pytest.mark.parametrize("address", ["tcp://h:²", "tcp://h:0", "tcp://h:65536", "tcp://h:"])
def test_a_dask_port_that_is_no_port_is_a_usage_error(address: str) -> None:
    with pytest.raises(UsageError, match="needs a host and a port"):
        normalize_address(address)


@pytest.mark.parametrize("address", ["h:²", "ray://h:²", "h:0", "[::1]:99999"])
def test_a_ray_port_that_is_no_port_is_a_usage_error(address: str) -> None:
    with pytest.raises(UsageError, match="is not valid"):
        parse_address(address)


def test_importing_dist_bench_and_parsing_addresses_imports_no_engine() -> None:
    code = (
        "import sys, dist_bench, dist_bench.backends, dist_bench.cli\n"
        "import dist_bench.backends.dask.address, dist_bench.backends.ray.address\n"
        "print(sorted(m for m in ('dask', 'distributed', 'ray') if m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.strip() == "[]"
