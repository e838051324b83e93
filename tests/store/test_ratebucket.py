"""The shared leaky bucket on SQLite and PostgreSQL, including several processes taking at once.

The databases are the store suite's (tests/store/conftest.py: a SQLite file, a throwaway PostgreSQL schema).
"""

from __future__ import annotations

import multiprocessing
import time
from typing import Any

import pytest
from sqlalchemy import Engine

from service.store.db import make_engine
from service.store.ratebucket import SqlRateBucket


def test_burst_then_wait_then_drain(engine: Engine) -> None:
    bucket = SqlRateBucket(engine)
    now = 1000.0
    assert [bucket.take("p", 2.0, 5, now) for _ in range(5)] == [0.0] * 5
    assert bucket.take("p", 2.0, 5, now) == pytest.approx(0.5)
    assert bucket.take("p", 2.0, 5, now + 0.5) == 0.0
    assert bucket.take("p", 2.0, 5, now + 0.5) == pytest.approx(0.5)
    assert [bucket.take("p", 2.0, 5, now + 100) for _ in range(5)] == [0.0] * 5  # drained, never below 0
    assert bucket.take("p", 2.0, 5, now + 100) > 0


def test_buckets_are_per_key(engine: Engine) -> None:
    bucket = SqlRateBucket(engine)
    assert bucket.take("a", 1.0, 1, 0.0) == 0.0
    assert bucket.take("a", 1.0, 1, 0.0) == pytest.approx(1.0)
    assert bucket.take("b", 1.0, 1, 0.0) == 0.0


def test_a_clock_behind_the_bucket_drains_nothing(engine: Engine) -> None:
    bucket = SqlRateBucket(engine)
    assert bucket.take("p", 1.0, 1, 50.0) == 0.0
    assert bucket.take("p", 1.0, 1, 10.0) == pytest.approx(1.0)


def test_method_pauses(engine: Engine) -> None:
    bucket = SqlRateBucket(engine)
    assert bucket.paused_until("p", "task.elapseditem.delete", 100.0) is None
    bucket.pause("p", "task.elapseditem.delete", 200.0)
    bucket.pause("p", "task.elapseditem.delete", 150.0)  # an earlier pause never shortens a later one
    assert bucket.paused_until("p", "task.elapseditem.delete", 100.0) == 200.0
    assert bucket.paused_until("p", "tasks.task.get", 100.0) is None
    assert bucket.paused_until("other", "task.elapseditem.delete", 100.0) is None
    assert bucket.paused_until("p", "task.elapseditem.delete", 200.0) is None
    bucket.pause("p", "task.elapseditem.delete", 300.0)
    assert bucket.pauses("p", ["task.elapseditem.delete", "x"], 250.0) == {"task.elapseditem.delete": 300.0}


def _take_until(url: str, key: str, rate: float, burst: int, seconds: float, start: Any, out: Any) -> None:
    """Child process: once every process is up, take tokens as fast as allowed for `seconds`."""
    engine = make_engine(url)
    bucket = SqlRateBucket(engine)
    start.wait()  # a barrier: slow process start-up on a busy machine must not eat the window
    deadline = time.time() + seconds
    granted: list[float] = []
    while (now := time.time()) < deadline:
        wait = bucket.take(key, rate, burst, now)
        if wait == 0.0:
            granted.append(now)
        else:
            time.sleep(min(wait, 0.05))
    engine.dispose()
    out.put(granted)


@pytest.mark.slow
def test_processes_sharing_a_bucket_never_exceed_rate_times_t_plus_burst(db_url: str, engine: Engine) -> None:
    # `engine` created the schema in the database at `db_url`; each child opens its own engine on it.
    rate, burst, seconds, workers = 20.0, 5, 2.0, 4
    context = multiprocessing.get_context("spawn")
    start, out = context.Barrier(workers), context.Queue()
    processes = [
        context.Process(target=_take_until, args=(db_url, "portal", rate, burst, seconds, start, out))
        for _ in range(workers)
    ]
    for process in processes:
        process.start()
    results = [out.get(timeout=120) for _ in processes]
    for process in processes:
        process.join(timeout=30)
    grants = sorted(t for result in results for t in result)
    # The bucket promises a cap, not fairness: a process may be starved for the whole window.
    assert sum(1 for result in results if result) >= 2  # several processes really competed
    assert len(grants) >= rate * seconds * 0.5  # not vacuous: the processes did get tokens
    assert len(grants) <= rate * (grants[-1] - grants[0]) + burst + 1
    for i in range(len(grants)):
        for j in range(i + burst, len(grants)):
            # grants i..j (inclusive) within [t_i, t_j]; one token of slack for clock reads before the lock
            assert j - i + 1 <= rate * (grants[j] - grants[i]) + burst + 1, (i, j)
