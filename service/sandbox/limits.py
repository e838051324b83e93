"""The two Bitrix24 cloud limits: the per-portal leaky bucket and the per-method operating budget.

https://apidocs.bitrix24.com/limits.html — each request fills the bucket by one, it drains by ``rate``
per second, over ``burst`` requests get 503 ``QUERY_LIMIT_EXCEEDED``. Each method's execution time
is summed over the last 10 minutes in ten one-minute baskets, each opened by its first call; over the
limit the next call of that method gets 429 ``OPERATION_TIME_LIMIT`` until ``operating_reset_at``.
The clock is a plain ``() -> float`` so tests can drive it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

Clock = Callable[[], float]

BASKET_SECONDS = 60
BASKETS = 10


@dataclass
class LeakyBucket:
    rate: float
    burst: float
    level: float = 0.0
    last: float | None = None

    def _drain(self, now: float) -> None:
        # Requests are stamped when they arrive but counted in the order they get the portal's lock, so
        # `now` may be a little older than `last`: that time was drained already and is not drained again.
        if self.last is None or now > self.last:
            if self.last is not None:
                self.level = max(0.0, self.level - (now - self.last) * self.rate)
            self.last = now

    def try_acquire(self, now: float) -> bool:
        """Count one request; False (and nothing counted) when the bucket is full."""
        self._drain(now)
        if self.level + 1 > self.burst:
            return False
        self.level += 1
        return True

    def peek(self, now: float) -> float:
        self._drain(now)
        return self.level


@dataclass
class OperatingBudget:
    """Per ``key`` (method, per webhook) execution seconds in ten one-minute baskets.

    A basket opens at the first call that falls outside the newest open one, not on the wall clock's
    minute, and counts until ten minutes after it opened; ``operating_reset_at`` is when the oldest
    counted basket lets go."""

    limit: float
    baskets: dict[str, list[list[float]]] = field(default_factory=dict)  # key → [[opened_at, seconds]…]

    def _live(self, key: str, now: float) -> list[list[float]]:
        kept = [b for b in self.baskets.get(key, []) if b[0] + BASKET_SECONDS * BASKETS > now]
        self.baskets[key] = kept
        return kept

    def operating(self, key: str, now: float) -> float:
        return sum(seconds for _opened, seconds in self._live(key, now))

    def reset_at(self, key: str, now: float) -> int:
        """Unix time when the oldest basket stops counting (now + 10 min when nothing is counted)."""
        live = self._live(key, now)
        oldest = live[0][0] if live else now
        return int(oldest) + BASKET_SECONDS * BASKETS

    def blocked(self, key: str, now: float) -> bool:
        return self.operating(key, now) > self.limit

    def spend(self, key: str, now: float, seconds: float) -> None:
        live = self._live(key, now)
        if live and now < live[-1][0] + BASKET_SECONDS:
            live[-1][1] += seconds
        else:
            live.append([now, seconds])
