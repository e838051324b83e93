"""Workloads for the recovery and concurrency tests: many tasks with entries in the sandbox, many events
posted to the real `web` process, and read-outs of what the journal and the sandbox's request log say
happened (the workers themselves: tests/e2e/workers.py)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypedDict

import requests
from sqlalchemy import Engine, func, select

from service.sandbox.portal import Portal
from service.sandbox.sender import EventTarget, event_body
from service.store.db import make_engine, open_database
from service.store.eventlog import events, task_leases
from tests.e2e.harness import FORM, MEMBER_ID, TOKEN, Service

# Entry seconds per task, cycling: most tasks have zero-second entries among others, some have none.
ENTRY_PATTERNS: tuple[tuple[int, ...], ...] = ((0, 60), (0, 0, 300), (3600,), (0,), (120, 0, 45, 0))


class FastSettings(TypedDict):
    """FAST's keys, spelled out: `service_env(..., **FAST)` then cannot be taken to pass `rules=`."""

    B24_RATE_LIMIT: str
    B24_RATE_BURST: str
    B24_LEASE_SECONDS: str
    B24_RETRY_BASE_SECONDS: str


# Quick settings for tests: a generous shared rate limit, a short lease (a killed worker's tasks come
# back in seconds, not minutes) and a short first retry delay.
FAST: FastSettings = {
    "B24_RATE_LIMIT": "500",
    "B24_RATE_BURST": "1000",
    "B24_LEASE_SECONDS": "4",
    "B24_RETRY_BASE_SECONDS": "0.25",
}


@dataclass(frozen=True)
class Seeded:
    task_ids: tuple[int, ...]
    zero_ids: frozenset[int]  # the entries the shipped zero-duration rule selects
    kept_ids: frozenset[int]  # every other entry: must survive


def seed_tasks(portal: Portal, count: int, first_id: int = 1001) -> Seeded:
    """`count` in-progress tasks whose entries follow ENTRY_PATTERNS."""
    zero: set[int] = set()
    kept: set[int] = set()
    task_ids = tuple(range(first_id, first_id + count))
    with portal.lock:
        portal.configure(rate=500.0, burst=1000.0)
        for n, task_id in enumerate(task_ids):
            pattern = ENTRY_PATTERNS[n % len(ENTRY_PATTERNS)]
            specs = [{"seconds": s, "comment": f"task {task_id} entry {i}"} for i, s in enumerate(pattern)]
            portal.create_task(f"Task {task_id}", task_id=task_id, status=3, entries=specs)
            for entry in portal.entries_of(task_id):
                (zero if entry.seconds == 0 else kept).add(entry.id)
    return Seeded(task_ids, frozenset(zero), frozenset(kept))


def event_form(task_id: int, name: str = "ONTASKUPDATE", ts: int = 1_760_000_000) -> bytes:
    """The body the portal posts for `name` on `task_id` (the sandbox's sender builds it)."""
    target = EventTarget("unused", 17, TOKEN, MEMBER_ID, "acme.bitrix24.com")
    return event_body(name, task_id, target, ts)


def post_all(service: Service, bodies: Sequence[bytes], threads: int = 8) -> list[int]:
    """Post every body to `/bitrix24/events` from `threads` connections; the ids the service answered."""
    url = service.url + "/bitrix24/events"

    def post_share(share: Sequence[bytes]) -> list[int]:
        ids = []
        with requests.Session() as session:
            for body in share:
                response = session.post(url, data=body, headers={"Content-Type": FORM}, timeout=10)
                assert response.status_code == 200, response.text
                ids.append(int(response.json()["id"]))
        return ids

    shares = [bodies[n::threads] for n in range(threads)]
    with ThreadPoolExecutor(threads) as pool:
        return [event_id for ids in pool.map(post_share, shares) for event_id in ids]


def database(service: Service) -> Engine:
    return open_database(service.env["B24_DATABASE_URL"])


def statuses(engine: Engine) -> dict[str, int]:
    """How many journal rows are in each status."""
    query = select(events.c.status, func.count()).group_by(events.c.status)
    with engine.connect() as connection:
        return {str(status): int(count) for status, count in connection.execute(query)}


def queue_counts(service: Service) -> dict[str, int]:
    """`statuses` of the service's database, through an engine of its own (no migration: read only)."""
    engine = make_engine(service.env["B24_DATABASE_URL"])
    try:
        return statuses(engine)
    finally:
        engine.dispose()


def leases(engine: Engine) -> list[tuple[int, str]]:
    with engine.connect() as connection:
        return [
            (int(t), str(o))
            for t, o in connection.execute(select(task_leases.c.task_id, task_leases.c.owner))
        ]


def rows(engine: Engine, event_ids: Iterable[int] | None = None) -> list[dict[str, Any]]:
    query = select(events.c.id, events.c.task_id, events.c.status, events.c.attempts, events.c.last_error)
    if event_ids is not None:
        query = query.where(events.c.id.in_(list(event_ids)))
    with engine.connect() as connection:
        return [dict(row._mapping) for row in connection.execute(query.order_by(events.c.id))]


def successful_deletes(portal: Portal) -> Counter[int]:
    """Entry id → how many `task.elapseditem.delete` calls for it succeeded (the portal's request log)."""
    return Counter(int(call["params"]["ITEMID"]) for call in portal.calls("task.elapseditem.delete")
                   if call["status"] == 200)  # fmt: skip


def remaining_entry_ids(portal: Portal) -> set[int]:
    return {entry.id for entry in portal.entries_of(None)}
