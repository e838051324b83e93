"""The intake's group commit: concurrent posts each get their own stored row; a stuck or refusing
database gives 503 within a bounded time, never a hang; shutdown commits what is waiting."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import Engine

from service.assembly.resources import Resources
from service.assembly.webwiring import web_parts
from service.core.events import TaskEvent
from service.store.journal import Journal
from service.web.app import create_app
from service.web.context import INTAKE
from service.web.intake import GroupCommit, IntakeUnavailable
from tests.store.conftest import db_url, task_event
from tests.web.conftest import FORM, sample

__all__ = ["db_url"]  # the store suite's fixture: an empty SQLite file or PostgreSQL schema

UPDATE = sample("ontaskupdate-webhook.form")


def post_many(app: Flask, total: int, threads: int) -> list[tuple[int, dict[str, object]]]:
    answers: list[tuple[int, dict[str, object]]] = []
    lock = threading.Lock()

    def client(count: int) -> None:
        http = app.test_client()
        for _ in range(count):
            response = http.post("/bitrix24/events", data=UPDATE, headers={"Content-Type": FORM})
            with lock:
                answers.append((response.status_code, response.get_json()))

    workers = [threading.Thread(target=client, args=(total // threads,)) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
    return answers


def test_concurrent_posts_all_get_200_with_distinct_ids_of_stored_rows(
    make_resources: Callable[..., Resources], db_url: str
) -> None:
    resources = make_resources(b24_database_url=db_url)
    app = create_app(web_parts(resources))

    answers = post_many(app, total=208, threads=16)

    assert len(answers) == 208
    assert {code for code, _ in answers} == {200}
    ids = [body["id"] for _, body in answers]
    assert len(set(ids)) == 208
    records = [resources.journal.get(int(str(event_id))) for event_id in ids]
    assert all(record is not None and record.task_id == 691 for record in records)
    assert len(resources.journal.find(limit=1000)) == 208
    app.extensions[INTAKE].close()


@pytest.fixture
def locked_database(resources: Resources) -> Iterator[sqlite3.Connection]:
    """Another connection holding the SQLite write lock: the intake's writer waits in BEGIN IMMEDIATE
    (up to the 30 s busy timeout) until it lets go."""
    path = Path(str(resources.engine.url.database))
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    yield holder
    holder.close()


def test_a_stuck_database_is_503_within_the_intake_wait_and_recovers(
    resources: Resources, locked_database: sqlite3.Connection
) -> None:
    app = create_app(web_parts(resources))
    app.extensions[INTAKE] = intake = GroupCommit(resources.journal, wait_seconds=1.0)
    client = app.test_client()

    started = time.monotonic()
    first = client.post("/bitrix24/events", data=UPDATE, headers={"Content-Type": FORM})
    assert first.status_code == 503
    assert first.get_json()["reason"] == "event store unavailable"
    assert time.monotonic() - started < 10  # the wait is 1 s; the lock would hold it for 30 s
    # The writer is still stuck on that batch: the next request does not queue behind it.
    assert client.post("/bitrix24/events", data=UPDATE, headers={"Content-Type": FORM}).status_code == 503

    locked_database.execute("ROLLBACK")
    deadline = time.monotonic() + 30
    while (
        answer := client.post("/bitrix24/events", data=UPDATE, headers={"Content-Type": FORM})
    ).status_code != 200:
        assert time.monotonic() < deadline, "the intake did not recover once the lock was released"
        time.sleep(0.1)
    assert resources.journal.get(answer.get_json()["id"]) is not None
    intake.close()


class GatedJournal(Journal):
    """A real journal whose first batch waits for `gate`, so that the next events queue up behind it."""

    def __init__(self, engine: Engine) -> None:
        super().__init__(engine)
        self.entered = threading.Event()
        self.gate = threading.Event()
        self.batches: list[int] = []

    def append_many(self, batch: Sequence[TaskEvent], now: datetime, statuses: Sequence[str]) -> list[int]:
        if not self.entered.is_set():
            self.entered.set()
            self.gate.wait(30)
        self.batches.append(len(batch))
        return super().append_many(batch, now, statuses)


def start_appends(
    intake: GroupCommit, events: list[TaskEvent], results: dict[int, object], first: int = 0
) -> list[threading.Thread]:
    def append(index: int, event: TaskEvent) -> None:
        try:
            results[index] = intake.append(event, "pending")
        except IntakeUnavailable as error:
            results[index] = error

    threads = [threading.Thread(target=append, args=(first + n, event)) for n, event in enumerate(events)]
    for thread in threads:
        thread.start()
    return threads


def wait_until(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + 30
    while not condition():
        assert time.monotonic() < deadline
        time.sleep(0.01)


def queue_behind_a_held_batch(
    resources: Resources, events: list[TaskEvent], **options: Any
) -> tuple[GatedJournal, GroupCommit, list[threading.Thread], dict[int, object]]:
    """Event 0 (task 1) is taken by the writer and held at the gate; `events` (1, 2, …) queue behind it."""
    journal = GatedJournal(resources.engine)
    intake = GroupCommit(journal, **{"wait_seconds": 30, **options})
    results: dict[int, object] = {}
    threads = start_appends(intake, [task_event(1)], results)
    assert journal.entered.wait(30)
    threads += start_appends(intake, events, results, first=1)
    wait_until(lambda: intake.waiting == len(events))
    return journal, intake, threads, results


def finish(journal: GatedJournal, threads: list[threading.Thread]) -> None:
    journal.gate.set()
    for thread in threads:
        thread.join(timeout=30)


def test_an_event_the_database_refuses_does_not_fail_its_batch(resources: Resources) -> None:
    # Over SQLite's INTEGER, refused by the driver. The parser never lets such an id through; it
    # stands for any value of one event that the database will not take.
    odd = replace(task_event(3), task_id=2**63)
    journal, intake, threads, results = queue_behind_a_held_batch(
        resources, [task_event(2), odd, task_event(4), task_event(5)]
    )

    finish(journal, threads)

    assert journal.batches == [1, 4, 1, 1, 1, 1]  # the four were one batch, then retried one by one
    assert isinstance(results[2], IntakeUnavailable)
    stored = {index: resources.journal.get(int(str(results[index]))) for index in (0, 1, 3, 4)}
    assert {index: record.task_id for index, record in stored.items() if record} == {0: 1, 1: 2, 3: 4, 4: 5}
    intake.close()


def test_close_commits_the_waiting_events_then_refuses_new_ones(resources: Resources) -> None:
    journal, intake, threads, results = queue_behind_a_held_batch(
        resources, [task_event(n) for n in range(2, 7)]
    )

    closing = threading.Thread(target=intake.close)
    closing.start()
    finish(journal, threads)
    closing.join(timeout=30)

    assert len(results) == 6
    assert all(isinstance(result, int) for result in results.values()), results
    assert len(resources.journal.find(limit=100)) == 6
    with pytest.raises(IntakeUnavailable, match="shutting down"):
        intake.append(task_event(9), "pending")


def test_a_full_queue_is_refused_at_once(resources: Resources) -> None:
    journal, intake, threads, results = queue_behind_a_held_batch(
        resources, [task_event(n) for n in range(2, 5)], max_queue=3
    )

    with pytest.raises(IntakeUnavailable, match="too many events"):
        intake.append(task_event(9), "pending")
    finish(journal, threads)
    assert all(isinstance(result, int) for result in results.values()), results
    assert len(resources.journal.find(limit=100)) == 4
    intake.close()
