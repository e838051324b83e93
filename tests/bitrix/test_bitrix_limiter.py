"""Limiters: burst then steady rate, method pauses, bounded waiting on a shared bucket."""

from __future__ import annotations

from pathlib import Path

import pytest
from b24fake import Clock

from service.bitrix.limiter import LocalLimiter, SharedLimiter
from service.core.bitrix import OperationTimeLimit, RateLimited
from service.store.db import make_engine, metadata
from service.store.ratebucket import SqlRateBucket, method_pauses, rate_buckets


@pytest.fixture
def shared_bucket(tmp_path: Path) -> SqlRateBucket:
    engine = make_engine(f"sqlite:///{tmp_path / 'l.sqlite3'}")
    metadata.create_all(engine, tables=[rate_buckets, method_pauses])
    return SqlRateBucket(engine)


def limiters(clock: Clock, bucket: SqlRateBucket) -> list[LocalLimiter | SharedLimiter]:
    return [
        LocalLimiter(2.0, 3, sleep=clock.sleep, clock=clock),
        SharedLimiter(bucket, "acme", 2.0, 3, sleep=clock.sleep, clock=clock),
    ]


@pytest.mark.parametrize("which", [0, 1])
def test_burst_then_rate(which: int, shared_bucket: SqlRateBucket) -> None:
    clock = Clock(start=5000.0)
    limiter = limiters(clock, shared_bucket)[which]
    for _ in range(3):
        limiter.acquire("m")
    assert clock.sleeps == []
    limiter.acquire("m")
    assert clock.sleeps == [pytest.approx(0.5)]


@pytest.mark.parametrize("which", [0, 1])
def test_pause_blocks_the_method_and_batches_containing_it(which: int, shared_bucket: SqlRateBucket) -> None:
    clock = Clock(start=5000.0)
    limiter = limiters(clock, shared_bucket)[which]
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


def test_shared_limiter_gives_up_after_max_wait(shared_bucket: SqlRateBucket) -> None:
    clock = Clock(start=5000.0)
    limiter = SharedLimiter(shared_bucket, "acme", 1.0, 1, sleep=lambda s: None, clock=clock, max_wait=5.0)
    limiter.acquire("m")
    with pytest.raises(RateLimited, match="LOCAL_RATE_LIMIT"):
        limiter.acquire("m")  # the clock never moves: the token never comes


def test_shared_limiters_of_one_portal_share_the_bucket(shared_bucket: SqlRateBucket) -> None:
    clock = Clock(start=5000.0)
    one = SharedLimiter(shared_bucket, "acme", 2.0, 2, sleep=clock.sleep, clock=clock)
    two = SharedLimiter(shared_bucket, "acme", 2.0, 2, sleep=clock.sleep, clock=clock)
    one.acquire("m")
    two.acquire("m")
    one.pause("x", clock.now + 10)
    assert clock.sleeps == []
    two.acquire("m")
    assert clock.sleeps == [pytest.approx(0.5)]
    with pytest.raises(OperationTimeLimit):
        two.acquire("x")
