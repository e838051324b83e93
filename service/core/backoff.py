"""Retry timing for transient failures: exponential backoff with full jitter, and when to give up."""

from __future__ import annotations

from datetime import timedelta

BASE_SECONDS = 2.0
CAP_SECONDS = 600.0
MAX_ATTEMPTS = 10  # about an hour of retrying in total before an event becomes a dead letter


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
