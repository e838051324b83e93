"""Workloads for the recovery and concurrency tests: many tasks with entries in the sandbox, many events
posted to the real `web` process, `b24rules worker` processes that can be signalled, and read-outs of
what the journal, the workers' evaluation log lines and the sandbox's request log say happened."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import requests
from sqlalchemy import Engine, func, select

from service.sandbox.portal import Portal
from service.sandbox.sender import EventTarget, event_body
from service.store.db import open_database
from service.store.eventlog import events, task_leases
from tests.e2e.harness import FORM, MEMBER_ID, TOKEN, Service

# Entry seconds per task, cycling: most tasks have zero-second entries among others, some have none.
ENTRY_PATTERNS: tuple[tuple[int, ...], ...] = ((0, 60), (0, 0, 300), (3600,), (0,), (120, 0, 45, 0))

# Quick settings for tests: a generous shared rate limit, a short lease (a killed worker's tasks come
# back in seconds, not minutes) and a short first retry delay.
FAST = {
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


class WorkerProcess:
    """One `b24rules worker` subprocess with its own log file; it can be signalled like a pod."""

    def __init__(self, service: Service, name: str) -> None:
        self.name = name
        self.env = dict(service.env)
        self.workdir = service.workdir
        self.log_path = service.workdir / f"{name}.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> WorkerProcess:
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "service", "worker", "--no-sweep"],
                cwd=self.workdir,
                env=self.env,
                stdout=log,
                stderr=log,
                start_new_session=True,
            )
        return self

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def signal(self, signum: int) -> None:
        os.kill(self.pid, signum)

    def wait(self, timeout: float) -> int:
        assert self.process is not None
        return self.process.wait(timeout=timeout)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.signal(signal.SIGKILL)
            self.process.wait()

    def lines(self) -> list[dict[str, Any]]:
        """The worker's JSON log lines (anything else it printed is skipped)."""
        found = []
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        for line in text.splitlines():
            try:
                value = json.loads(line)
            except ValueError:
                continue
            if isinstance(value, dict):
                found.append(value)
        return found

    def evaluations(self) -> list[dict[str, Any]]:
        return [line for line in self.lines() if line.get("msg") == "evaluated"]


def start_workers(service: Service, count: int, prefix: str = "worker") -> list[WorkerProcess]:
    return [WorkerProcess(service, f"{prefix}-{n}").start() for n in range(count)]


def database(service: Service) -> Engine:
    return open_database(service.env["B24_DATABASE_URL"])


def statuses(engine: Engine) -> dict[str, int]:
    """How many journal rows are in each status."""
    query = select(events.c.status, func.count()).group_by(events.c.status)
    with engine.connect() as connection:
        return {str(status): int(count) for status, count in connection.execute(query)}


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


def logs_of(workers: Iterable[WorkerProcess]) -> str:
    return "\n".join(
        f"--- {w.name}\n" + (w.log_path.read_text() if w.log_path.exists() else "") for w in workers
    )
