"""The leaky-bucket arithmetic Bitrix24 applies to REST requests, as a pure function for our own limiters.

Each request adds 1 to a counter that drains at `rate` per second; a request that would push the counter
past `burst` is refused (503 QUERY_LIMIT_EXCEEDED on the portal). Plans: 2/s with burst 50, Enterprise
5/s with burst 250. https://apidocs.bitrix24.com/limits.html
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Bucket:
    """Counter `level` as of unix time `at`."""

    level: float = 0.0
    at: float = 0.0


def take(bucket: Bucket, rate: float, burst: int, now: float) -> tuple[Bucket, float]:
    """Try to add one request at `now`: the new bucket and 0.0, or the unchanged bucket and the wait (s).

    A `now` older than the bucket's time (another process's clock ran ahead) drains nothing, so the
    counter never under-counts whichever clock is ahead.
    """
    if rate <= 0 or burst < 1:
        raise ValueError("rate must be > 0 and burst >= 1")
    at = max(now, bucket.at)
    level = max(0.0, bucket.level - (at - bucket.at) * rate)
    if level + 1.0 <= burst:
        return Bucket(level + 1.0, at), 0.0
    return Bucket(level, at), (level + 1.0 - burst) / rate


# Seconds of difference in delivery delay our bucket absorbs: a token is taken when a request is let
# go, the portal counts it when it arrives, and requests do not all take the same time to get there
# (a connection to open, a busy event loop on either side). Without room for that, a request we let go
# exactly when our counter reads `burst - 1` can meet a portal counter that still reads `burst`.
DELIVERY_JITTER = 1.0


def usable_burst(rate: float, burst: int, jitter: float = DELIVERY_JITTER) -> int:
    """How much of the portal's bucket (`burst`) our own bucket may fill: the rest is headroom for
    `jitter` seconds of uneven delivery, at least one request's worth, and never the whole bucket."""
    if rate <= 0 or burst < 1:
        raise ValueError("rate must be > 0 and burst >= 1")
    return max(1, burst - max(1, math.ceil(rate * jitter)))
