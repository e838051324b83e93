"""Durations in rule files (`90s`, `15m`, `2h`, `7d`, `2w`, or plain whole seconds) → `timedelta`."""

from __future__ import annotations

import re
from datetime import timedelta

from service.core.positions import quote

_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_DURATION = re.compile(r"^([0-9]{1,9})([smhdw]?)$")


class DurationError(ValueError):
    """The value is not a duration; the message says what is accepted."""


def parse_duration(value: object) -> timedelta:
    """A non-negative duration; raises `DurationError` with a message fit for a rule-file problem."""
    # bool is an int subclass; `older_than: true` is a mistake, not one second.
    if isinstance(value, int) and not isinstance(value, bool):
        if value < 0:
            raise DurationError(f"duration must not be negative, got {value}")
        return timedelta(seconds=value)
    if isinstance(value, str):
        match = _DURATION.match(value.strip())
        if match:
            return timedelta(seconds=int(match.group(1)) * _UNIT_SECONDS[match.group(2) or "s"])
    shown = quote(value) if isinstance(value, str) else repr(value)
    raise DurationError(f"bad duration {shown}: use a number with s, m, h, d or w (e.g. 90s, 15m, 7d)")
