"""The worker's big writes to the journal, cut into short transactions: a claim of many tasks and the
completion of a round's claims.

On SQLite every writer waits for the file's one write lock, and the web's group commits (which hold the
portal's HTTP requests) wait behind the worker's transactions. bench/ingest/steady measured it at 500
events/s under `serve`: a 100-task claim held the lock up to ~1 s, the completion of a round up to 0.3 s.
Here a claim finds its candidates in a read transaction (no lock) and takes them `WRITE_SLICE` seconds
of work per write transaction; a completion finishes `WRITE_EVENTS` events per transaction. Each write
transaction queues for the lock in the kernel with the web's (`sqlite_write_turn`), not in SQLite's
polling busy handler. On PostgreSQL the same code runs (the turn is a no-op there).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine

from service.store import claims
from service.store.claims import Claim, QuietWindow
from service.store.db import reading, sqlite_write_turn

log = logging.getLogger(__name__)

WRITE_SLICE = 0.01  # seconds of taking tasks per write transaction (the task under way is finished)
WRITE_EVENTS = 200  # events finished per write transaction (a claim is never split)
# Tasks taken by one lease upsert and one events UPDATE (`claims.take_tasks`): a slice's time is checked
# between them. 25 tasks of ~50 waiting events each are one UPDATE of ~1,250 rows, a few ms.
TASKS_PER_TAKE = 25


@contextmanager
def writing(engine: Engine) -> Iterator[Connection]:
    """A write transaction that takes its turn at SQLite's write lock with the web's group commits."""
    with sqlite_write_turn(engine), engine.begin() as connection:
        yield connection


def claim(
    engine: Engine,
    owner: str,
    now: datetime,
    lease: timedelta,
    max_tasks: int,
    quiet: QuietWindow,
    portal: str,
) -> list[Claim]:
    """Lease up to `max_tasks` tasks with claimable events, in slices: the oldest ripe ones (each taken
    in task id order within its transaction); all their events coalesce. If a later slice fails, the
    claims already taken are returned (their transactions committed) and the rest stay claimable; a
    failure before any claim is raised."""
    with reading(engine) as connection:
        rest = claims.candidates(connection, now, max_tasks * claims.CANDIDATES_PER_TASK, quiet, portal)
    taken: list[Claim] = []
    while rest and len(taken) < max_tasks:
        try:
            with writing(engine) as connection:
                wanted = max_tasks - len(taken)
                got, rest = _take_slice(connection, rest, owner, now, now + lease, wanted, portal)
            taken.extend(got)  # committed: a slice that fails takes nothing
        except Exception:
            if not taken:
                raise
            log.warning("claim cut short by a failed write", exc_info=True, extra={"tasks": len(taken)})
            break
    return taken


def _take_slice(
    connection: Connection,
    found: list[int],
    owner: str,
    now: datetime,
    expires_at: datetime,
    wanted: int,
    portal: str,
) -> tuple[list[Claim], list[int]]:
    """Take up to `wanted` of `found` until the slice's time is up; the claims, and the tasks left over."""
    until = time.monotonic() + WRITE_SLICE
    chosen: list[int] = []
    looked = 0
    for task_id in found:
        if len(chosen) == wanted:
            break
        looked += 1
        if claims.try_lock(connection, portal, task_id):
            chosen.append(task_id)
    chosen.sort()  # lease rows in task id order: two workers never wait on each other's rows in a cycle
    taken: list[Claim] = []
    for start in range(0, len(chosen), TASKS_PER_TAKE):
        end = start + TASKS_PER_TAKE
        taken += claims.take_tasks(connection, portal, chosen[start:end], owner, now, expires_at)
        if time.monotonic() > until:
            return taken, chosen[end:] + found[looked:]
    return taken, found[looked:]


def complete(engine: Engine, done: Sequence[Claim], values: dict[str, Any]) -> int:
    """`claims.finish_many` for `done`, about `WRITE_EVENTS` events per transaction; how many leases
    were still held (a failure leaves the later claims as they were: their leases expire)."""
    held = 0
    chunk: list[Claim] = []
    events = 0
    for index, one in enumerate(done):
        chunk.append(one)
        events += len(one.event_ids)
        if events >= WRITE_EVENTS or index == len(done) - 1:
            with writing(engine) as connection:
                held += claims.finish_many(connection, chunk, values)
            chunk, events = [], 0
    return held
