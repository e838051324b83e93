"""Ids as the portal and people write them: ASCII digits only.

`str.isdigit()` is also true of "²" or "٣", and `int("²")` raises: a check written with it lets such a
value through to an `int()` that crashes, as does a string of over 4,300 digits (Python's own limit).
Every id read from an answer, a form or a command line goes through `ascii_int` instead.
"""

from __future__ import annotations

MAX_DIGITS = 18  # every id fits the store's BIGINT columns


def ascii_int(value: object) -> int | None:
    """The non-negative integer `value` spells in at most MAX_DIGITS ASCII digits (str or int), or None."""
    text = str(value)
    return int(text) if len(text) <= MAX_DIGITS and text.isascii() and text.isdigit() else None
