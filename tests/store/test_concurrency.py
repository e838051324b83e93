"""Several real processes on one database: workers never evaluate a task twice at once, lose no event,
and a worker killed with SIGKILL leaves work that another one takes over."""

from __future__ import annotations

import multiprocessing
import os
import signal
import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import Any

import pytest

from service.store.db import open_database
from service.store.journal import Journal
from tests.store.conftest import task_event

SPAWN = multiprocessing.get_context("spawn")
EVENTS, TASKS, WORKERS = 1000, 50, 4
KILLED_LEASE = timedelta(seconds=120)  # long: a loaded machine must not expire it before we look


def _clock() -> datetime:
    return datetime.now(UTC)


def _append(url: str, first: int, count: int) -> list[int]:
    journal = Journal(open_database(url))
    return [journal.append(task_event(1 + n % TASKS), _clock()) for n in range(first, first + count)]


def _appender(url: str, first: int, count: int, done: Any, results: Any) -> None:
    results.put(("appended", _append(url, first, count)))
    done.set()


def _worker(url: str, owner: str, appending_done: Any, results: Any) -> None:
    """Claim/complete until the appender is done and nothing is pending; report each claim's interval."""
    journal = Journal(open_database(url))
    intervals: list[tuple[int, int, int, tuple[int, ...], bool]] = []
    try:
        _work(journal, owner, appending_done, intervals)
    finally:
        results.put(("claims", intervals))


def _work(journal: Journal, owner: str, appending_done: Any, intervals: list[Any]) -> None:
    while True:
        claims = journal.claim(owner, _clock(), lease=timedelta(seconds=60), max_tasks=4)
        started = time.monotonic_ns()  # CLOCK_MONOTONIC: one clock for every process of the machine
        if not claims:
            if appending_done.is_set() and journal.stats(_clock()).pending == 0:
                break
            time.sleep(0.002)
            continue
        time.sleep(0.001)  # an "evaluation", long enough for an overlap to show
        for claim in claims:
            ended = time.monotonic_ns()
            intervals.append(
                (claim.task_id, started, ended, claim.event_ids, journal.complete(claim, _clock()))
            )


@pytest.mark.slow
def test_workers_in_several_processes_never_overlap_on_a_task_and_lose_nothing(db_url: str) -> None:
    appended = _append(db_url, 0, EVENTS // 2)  # a backlog, so that bursts coalesce
    done, results = SPAWN.Event(), SPAWN.Queue()
    processes = [SPAWN.Process(target=_appender, args=(db_url, EVENTS // 2, EVENTS // 2, done, results))]
    processes += [
        SPAWN.Process(target=_worker, args=(db_url, f"w{n}", done, results)) for n in range(WORKERS)
    ]
    for process in processes:
        process.start()
    # Spawned processes import the service first: on a loaded 2-core CI machine that alone can take
    # tens of seconds, so the reports get one deadline well inside pytest's 300 s timeout.
    deadline = time.monotonic() + 240
    reports = [results.get(timeout=max(1.0, deadline - time.monotonic())) for _ in processes]
    for process in processes:
        process.join(timeout=30)
        assert process.exitcode == 0

    claims = [claim for kind, items in reports if kind == "claims" for claim in items]
    appended += next(items for kind, items in reports if kind == "appended")
    assert all(completed for *_, completed in claims), "a worker lost its lease"
    claimed_ids = [event_id for *_, event_ids, _ in claims for event_id in event_ids]
    assert sorted(claimed_ids) == sorted(appended)  # every event evaluated, none twice
    assert len(claims) < EVENTS  # bursts coalesced
    per_task: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for task_id, started, ended, *_ in claims:
        per_task[task_id].append((started, ended))
    for task_id, intervals in per_task.items():
        intervals.sort()
        for (_, previous_end), (next_start, _) in pairwise(intervals):
            assert next_start > previous_end, f"task {task_id} was evaluated by two workers at once"
    stats = Journal(open_database(db_url)).stats(_clock())
    assert (stats.pending, stats.processing) == (0, 0)


def _claim_then_die(url: str) -> None:
    Journal(open_database(url)).claim("doomed", _clock(), lease=KILLED_LEASE)
    os.kill(os.getpid(), signal.SIGKILL)


def test_a_worker_killed_mid_evaluation_loses_nothing(db_url: str) -> None:
    journal = Journal(open_database(db_url))
    ids = [journal.append(task_event(3), _clock()) for _ in range(3)]
    doomed = SPAWN.Process(target=_claim_then_die, args=(db_url,))
    doomed.start()
    doomed.join(timeout=60)

    assert doomed.exitcode == -signal.SIGKILL
    assert journal.claim("survivor", _clock(), lease=KILLED_LEASE) == []  # the lease still runs
    [claim] = journal.claim("survivor", _clock() + KILLED_LEASE, lease=KILLED_LEASE)
    assert claim.event_ids == tuple(ids)
    assert claim.attempts == 1


def _open(url: str, barrier: Any) -> None:
    barrier.wait(timeout=60)
    open_database(url).dispose()


def test_processes_starting_at_once_build_the_schema_once(db_url: str) -> None:
    barrier = SPAWN.Barrier(4)
    processes = [SPAWN.Process(target=_open, args=(db_url, barrier)) for _ in range(4)]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=60)

    assert [process.exitcode for process in processes] == [0, 0, 0, 0]
    journal = Journal(open_database(db_url))
    assert journal.append(task_event(1), _clock()) == 1
