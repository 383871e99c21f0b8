"""A node's link: rates as tc spells them, the timed transfer on loopback, refusals."""

from __future__ import annotations

import threading

import pytest

from dist_bench.cluster.nodes import cpusets, whole_cores
from dist_bench.errors import UsageError
from dist_bench.links import (
    MIN_BURST_BYTES,
    LinkCheck,
    LinkError,
    burst_bytes,
    main,
    send,
    serve,
    shape,
)
from dist_bench.units import format_rate, parse_rate
from tests.ports import free_port


@pytest.mark.parametrize(
    ("text", "bits"),
    [("1gbit", 10**9), ("100mbit", 10**8), ("2.5gbit", 25 * 10**8), ("1500kbit", 1_500_000)],
)
def test_rates_are_read_as_tc_spells_them(text: str, bits: int) -> None:
    assert parse_rate(text) == bits


@pytest.mark.parametrize(
    ("text", "message"),
    [("1gb", "unknown rate unit"), ("fast", "not a link rate"), ("10kbit", "between")],
)
def test_a_bad_rate_is_one_clear_error(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_rate(text)


def test_rates_are_shown_in_decimal_units() -> None:
    assert format_rate(9.4e8) == "940 Mbit/s"
    assert format_rate(1e9) == "1 Gbit/s"


def test_the_bucket_holds_4_ms_of_the_rate_and_at_least_one_offloaded_packet() -> None:
    assert burst_bytes(10**10) == 10**10 // 8 // 250
    assert burst_bytes(10**8) == MIN_BURST_BYTES


def test_a_timed_transfer_counts_every_byte() -> None:
    port = free_port()
    received: dict[str, int] = {}
    server = threading.Thread(target=lambda: received.update(serve(port)))
    server.start()
    timed = send("127.0.0.1", port, 5 * 1024**2 + 3)
    server.join(timeout=30)
    assert received == {"received": 5 * 1024**2 + 3}
    assert timed["bytes"] == 5 * 1024**2 + 3
    assert timed["bits_per_s"] == pytest.approx(timed["bytes"] * 8 / timed["seconds"])


def test_no_server_is_one_line_naming_the_address() -> None:
    with pytest.raises(LinkError, match=r"no link probe answered at 127\.0\.0\.1"):
        send("127.0.0.1", free_port(), 10, connect_timeout_s=0.2)


def test_shaping_a_device_that_does_not_exist_is_refused() -> None:
    # Never a real device here: run as root, the test would shape this host's own link.
    with pytest.raises(LinkError, match="no network device 'nowhere0'"):
        shape(10**9, device="nowhere0")


def test_the_probe_command_says_what_failed_in_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["send", "127.0.0.1", str(free_port()), "10", "--wait-s", "0.2"]) == 1
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith("no link probe answered at 127.0.0.1")


def test_a_check_is_within_tolerance_only_near_the_set_rate() -> None:
    def check(seconds: float) -> LinkCheck:
        return LinkCheck("a", "b", 125_000_000, seconds, set_rate_bits=10**9)

    assert check(1.05).within_tolerance is True  # 952 Mbit/s
    assert check(1.2).within_tolerance is False  # 833 Mbit/s
    assert LinkCheck("a", "b", 1, 1.0, None).within_tolerance is None


def test_whole_core_nodes_get_cores_of_their_own() -> None:
    assert whole_cores(1.0) == 1 and whole_cores(2) == 2
    assert whole_cores(0.5) is None and whole_cores(1.5) is None
    assert cpusets(2, 1, 2) == ["0", "1"]
    assert cpusets(2, 2, 4) == ["0-1", "2-3"]
    with pytest.raises(UsageError, match="need 4 cores; this host has 2"):
        cpusets(4, 1, 2)
