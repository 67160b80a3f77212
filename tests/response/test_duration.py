"""Parsing and rendering of block lifetimes."""

from __future__ import annotations

import pytest

from twinai.errors import InputError
from twinai.response import MAX_BLOCK_TTL_S, format_duration, parse_duration


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("30s", 30), ("10m", 600), ("1h", 3600), ("1h30m", 5400), (" 2D ", 172800)],
)
def test_parse_duration_reads_units(text: str, seconds: int) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "10", "ten minutes", "5x", "-5m", "1.5h", "m"])
def test_parse_duration_refuses_non_durations_naming_the_value(text: str) -> None:
    with pytest.raises(InputError, match="ttl must be a duration like 30s") as caught:
        parse_duration(text)

    assert repr(text) in str(caught.value)


@pytest.mark.parametrize("text", ["0s", "8d"])
def test_parse_duration_refuses_zero_and_too_long(text: str) -> None:
    with pytest.raises(InputError, match="between 1s and 7d"):
        parse_duration(text)


def test_format_duration_round_trips() -> None:
    for seconds in (1, 59, 61, 3600, 5400, MAX_BLOCK_TTL_S):
        assert parse_duration(format_duration(seconds)) == seconds
