"""Who may send the next request to the portal: the request-rate bucket and per-method pauses.

The portal refuses requests beyond its leaky bucket (503 QUERY_LIMIT_EXCEEDED) and blocks a method
whose execution time ran out (429 OPERATION_TIME_LIMIT) until `operating_reset_at`
(https://apidocs.bitrix24.com/limits.html). A `Limiter` keeps us under the first and remembers the second;
`SharedLimiter`, the one every process uses, keeps both in the database, shared by every process and
replica talking to the same portal.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection
from typing import Protocol

from service.core.bitrix.errors import OperationTimeLimit, RateLimited
from service.store.ratebucket import SqlRateBucket

DEFAULT_RATE = 2.0  # requests/s the portal drains (Enterprise: 5)
DEFAULT_BURST = 50  # the portal's bucket size (Enterprise: 250)


class Limiter(Protocol):
    def acquire(self, method: str, *, also: Collection[str] = ()) -> None:
        """Block until one request may be sent; raise `OperationTimeLimit` if `method` (or one of the
        batch sub-methods in `also`) is paused."""

    def pause(self, method: str, until: float) -> None:
        """Do not let `method` be called before unix time `until`."""


def _paused(method: str, until: float) -> OperationTimeLimit:
    return OperationTimeLimit(description="paused until operating_reset_at", method=method, reset_at=until)


class SharedLimiter:
    """The limiter backed by `SqlRateBucket`: one bucket per portal `key`, shared across processes.

    `acquire` gives up with `RateLimited` after waiting `max_wait` seconds in total, so a worker never
    hangs on a crowded bucket; the caller reschedules.
    """

    def __init__(
        self,
        bucket: SqlRateBucket,
        key: str,
        rate: float = DEFAULT_RATE,
        burst: int = DEFAULT_BURST,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
        *,
        max_wait: float = 60.0,
    ) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("rate must be > 0 and burst >= 1")
        self._bucket, self._key = bucket, key
        self._rate, self._burst = rate, burst
        self._sleep, self._clock = sleep, clock
        self._max_wait = max_wait

    def acquire(self, method: str, *, also: Collection[str] = ()) -> None:
        paused = self._bucket.pauses(self._key, {method, *also}, self._clock())
        if paused:
            name = method if method in paused else min(paused)
            raise _paused(name, paused[name])
        waited = 0.0
        while True:
            wait = self._bucket.take(self._key, self._rate, self._burst, self._clock())
            if wait <= 0:
                return
            if waited + wait > self._max_wait:
                text = f"no request token within {self._max_wait:g}s"
                raise RateLimited("LOCAL_RATE_LIMIT", text, None, method)
            self._sleep(wait)
            waited += wait

    def pause(self, method: str, until: float) -> None:
        self._bucket.pause(self._key, method, until)

    def room(self) -> float:
        """How many requests could be sent right now without waiting."""
        return self._burst - self._bucket.level(self._key, self._rate, self._clock())
