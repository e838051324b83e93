"""Ids as the portal and people write them: ASCII digits only.

`str.isdigit()` is also true of "²" or "٣", and `int("²")` raises: a check written with it lets such a
value through to an `int()` that crashes. Every id read from an answer, a form or a command line goes
through `ascii_int` instead.
"""

from __future__ import annotations


def ascii_int(value: object) -> int | None:
    """The non-negative integer `value` spells in ASCII digits (str or int), or None."""
    text = str(value)
    return int(text) if text.isascii() and text.isdigit() else None
