"""Human sizes: what each parser accepts, and what it refuses with a message saying why."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from dist_bench.units import (
    MAX_BYTES,
    MAX_COUNT,
    MAX_DURATION_S,
    MAX_GRAIN_S,
    format_bytes,
    format_duration,
    parse_bytes,
    parse_chunk,
    parse_count,
    parse_duration,
    parse_grain,
    parse_port,
)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("0.5", 0.5), ("20ms", 0.02), ("150us", 150e-6), ("2s", 2.0), ("1.5min", 90.0)],
)
def test_durations_in_every_unit(text: str, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize(
    ("parse", "text", "message"),
    [
        (parse_duration, "1e400", "too long: at most 86400 s"),  # float("1e400") is infinity
        (parse_duration, "25h", "unknown time unit 'h'"),
        (parse_duration, "1441min", "too long"),
        (parse_duration, "0", "above zero"),
        (parse_duration, "1e-400", "above zero"),  # rounds to 0.0
        (parse_duration, "inf", "not a duration"),
        (parse_duration, "nan", "not a duration"),
        (parse_duration, "fast", "not a duration"),
        (parse_bytes, "1e400", "too large: at most 1.0 TiB"),  # was OverflowError from int(inf)
        (parse_bytes, "1e30", "too large"),
        (parse_bytes, "1025GiB", "too large"),
        (parse_bytes, "0.5", "at least 1 byte"),
        (parse_bytes, "-1", "not a byte size"),
        (parse_bytes, "4 parsecs", "unknown size unit"),
        (parse_count, "0", "must be 1 or more"),
        (parse_count, "-3", "must be 1 or more"),
        (parse_count, str(MAX_COUNT + 1), "too large: at most 100,000,000"),
        (parse_count, "1e9", "not a whole number"),
        (parse_count, "1_000", "not a whole number"),  # int() reads it; no other number here does
        (parse_count, "١٦", "not a whole number"),  # Arabic-Indic digits: int() reads them too
        (parse_count, "²", "not a whole number"),  # isdigit() says yes, int() raises
        (parse_count, "many", "not a whole number"),
    ],
)
def test_refused_saying_why(parse: Callable[[str], float], text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse(text)


def test_the_duration_bound_is_inclusive_and_a_grain_has_its_own() -> None:
    assert parse_duration(f"{MAX_DURATION_S:g}") == MAX_DURATION_S
    assert parse_grain("60min") == MAX_GRAIN_S
    with pytest.raises(ValueError, match="at most 3600 s"):
        parse_grain("61min")
    with pytest.raises(ValueError, match="at most 3600 s"):
        parse_grain("1e400")


@pytest.mark.parametrize(
    ("text", "count"),
    [("4096", 4096), ("64KiB", 65536), ("4MB", 4_000_000), ("1.5k", 1500), ("1TiB", MAX_BYTES)],
)
def test_byte_sizes(text: str, count: int) -> None:
    assert parse_bytes(text) == count


def test_counts() -> None:
    assert parse_count("16") == 16
    assert parse_count(" 16 ") == 16
    assert parse_count(str(MAX_COUNT)) == MAX_COUNT


def test_ports() -> None:
    assert parse_port("8786") == 8786
    assert parse_port("65535") == 65535
    for bad in ("0", "65536", "99999", "abc", "", "²", "८७८६", "-1", " 80"):
        with pytest.raises(ValueError, match="not a port number"):
            parse_port(bad)


def test_chunks_refuse_digits_int_cannot_read_and_absurd_sizes() -> None:
    assert parse_chunk("64") == 64
    for bad in ("²", str(MAX_COUNT + 1)):
        with pytest.raises(ValueError, match="neither 'auto' nor a positive number"):
            parse_chunk(bad)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0.0123, "12.3 ms"), (59.0, "59.00 s"), (90.0, "1.5 min"), (7200.0, "2.0 h"),
     (3 * 86400.0, "3.0 days"), (1e8, "3.2 years")],
)  # fmt: skip
def test_format_duration_picks_a_unit_a_person_reads(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text


def test_format_bytes_reaches_tebibytes() -> None:
    assert format_bytes(MAX_BYTES) == "1.0 TiB"
    assert format_bytes(3 * 1024**3) == "3.0 GiB"
