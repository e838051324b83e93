"""The shared limiter: burst then steady rate, method pauses, bounded waiting, one bucket per portal."""

from __future__ import annotations

import pytest
from b24fake import Clock

from service.bitrix.limiter import SharedLimiter
from service.core.bitrix import OperationTimeLimit, RateLimited
from service.store.ratebucket import SqlRateBucket


def test_burst_then_rate(rate_bucket: SqlRateBucket) -> None:
    clock = Clock(start=5000.0)
    limiter = SharedLimiter(rate_bucket, "acme", 2.0, 3, sleep=clock.sleep, clock=clock)
    for _ in range(3):
        limiter.acquire("m")
    assert clock.sleeps == []
    limiter.acquire("m")
    assert clock.sleeps == [pytest.approx(0.5)]


def test_pause_blocks_the_method_and_batches_containing_it(rate_bucket: SqlRateBucket) -> None:
    clock = Clock(start=5000.0)
    limiter = SharedLimiter(rate_bucket, "acme", 2.0, 3, sleep=clock.sleep, clock=clock)
    limiter.pause("task.elapseditem.delete", clock.now + 60)
    with pytest.raises(OperationTimeLimit) as caught:
        limiter.acquire("task.elapseditem.delete")
    assert caught.value.reset_at == clock.now + 60
    assert caught.value.method == "task.elapseditem.delete"
    with pytest.raises(OperationTimeLimit):
        limiter.acquire("batch", also={"tasks.task.get", "task.elapseditem.delete"})
    limiter.acquire("tasks.task.get")
    clock.now += 61
    limiter.acquire("task.elapseditem.delete")


def test_shared_limiter_gives_up_after_max_wait(rate_bucket: SqlRateBucket) -> None:
    clock = Clock(start=5000.0)
    limiter = SharedLimiter(rate_bucket, "acme", 1.0, 1, sleep=lambda s: None, clock=clock, max_wait=5.0)
    limiter.acquire("m")
    with pytest.raises(RateLimited, match="LOCAL_RATE_LIMIT"):
        limiter.acquire("m")  # the clock never moves: the token never comes


def test_shared_limiters_of_one_portal_share_the_bucket(rate_bucket: SqlRateBucket) -> None:
    clock = Clock(start=5000.0)
    one = SharedLimiter(rate_bucket, "acme", 2.0, 2, sleep=clock.sleep, clock=clock)
    two = SharedLimiter(rate_bucket, "acme", 2.0, 2, sleep=clock.sleep, clock=clock)
    one.acquire("m")
    two.acquire("m")
    one.pause("x", clock.now + 10)
    assert clock.sleeps == []
    two.acquire("m")
    assert clock.sleeps == [pytest.approx(0.5)]
    with pytest.raises(OperationTimeLimit):
        two.acquire("x")


def test_room_counts_the_tokens_left_as_the_bucket_drains(rate_bucket: SqlRateBucket) -> None:
    clock = Clock(start=5000.0)
    limiter = SharedLimiter(rate_bucket, "acme", 2.0, 10, sleep=clock.sleep, clock=clock)
    other = SharedLimiter(rate_bucket, "acme", 2.0, 10, sleep=clock.sleep, clock=clock)
    assert limiter.room() == 10  # a new bucket is empty
    for _ in range(8):
        other.acquire("m")  # another process of the same portal spends the budget
    assert limiter.room() == 2
    clock.now += 1.5  # drains 3 requests
    assert limiter.room() == 5
