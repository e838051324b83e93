"""Retry timing for transient failures: exponential backoff with full jitter, and when to give up.

The window is sized to outlast a typical portal outage (maintenance, an overloaded portal, a network
incident lasting hours), not a blip: delays double from the base up to an hour between tries, and an
event becomes a dead letter only after MAX_ATTEMPTS tries. With the default base of 2 s that is 2.6 to
5.1 hours of retrying (`retry_window`; docs/operations.md quotes it and a test keeps the two equal).
"""

from __future__ import annotations

from datetime import timedelta

BASE_SECONDS = 2.0
CAP_SECONDS = 3600.0  # at most an hour between two tries
MAX_ATTEMPTS = 16  # tries in all before an event becomes a dead letter


def retry_delay(
    attempts: int, jitter: float, *, base: float = BASE_SECONDS, not_before: float | None = None
) -> timedelta:
    """Delay before attempt `attempts + 1`; `jitter` in [0, 1) comes from the caller's random source.

    `base` is the first delay's ceiling (B24_RETRY_BASE_SECONDS); `not_before` (seconds) is a floor the
    server asked for, e.g. the operating-limit reset time.
    """
    ceiling = min(CAP_SECONDS, base * (2 ** max(0, attempts)))
    seconds = ceiling / 2 + ceiling / 2 * jitter  # half fixed, half random: spread, but never ~0
    if not_before is not None:
        seconds = max(seconds, not_before)
    return timedelta(seconds=seconds)


def exhausted(attempts: int) -> bool:
    """True when `attempts` failed tries are all we will make."""
    return attempts >= MAX_ATTEMPTS


def retry_window(base: float = BASE_SECONDS) -> tuple[float, float]:
    """Shortest and longest time (s) from the first failed try to the dead letter, jitter at its extremes."""
    longest = sum(min(CAP_SECONDS, base * 2**attempts) for attempts in range(MAX_ATTEMPTS - 1))
    return longest / 2, longest
