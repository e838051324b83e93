from __future__ import annotations

from datetime import timedelta

import pytest

from service.core.durations import DurationError, parse_duration


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("90s", 90),
        ("15m", 900),
        ("2h", 7200),
        ("7d", 604800),
        ("2w", 1209600),
        ("45", 45),
        (0, 0),
        (300, 300),
        (" 7d ", 604800),
    ],
)
def test_parses_units_and_plain_seconds(text: object, seconds: int) -> None:
    assert parse_duration(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize("bad", ["7 days", "7D", "1.5h", "-3s", "", "d", True, None, 1.5, [7], "7y"])
def test_rejects_anything_else(bad: object) -> None:
    with pytest.raises(DurationError, match="duration"):
        parse_duration(bad)


def test_negative_int_rejected() -> None:
    with pytest.raises(DurationError, match="must not be negative"):
        parse_duration(-1)
