"""`Journal.append_many`, the web intake's group commit: many events in one transaction, each id its own."""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import datetime, timedelta

import psycopg
import pytest
from sqlalchemy import Engine, func, select

from service.store.journal import Journal, events
from tests.store.conftest import SECRET, task_event


@pytest.fixture
def journal(engine: Engine) -> Journal:
    return Journal(engine)


LEASE = timedelta(seconds=30)


def rows(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.scalar(select(func.count()).select_from(events)) or 0)


def test_each_id_is_the_row_of_its_event_and_status(journal: Journal, now: datetime) -> None:
    batch = [task_event(100 + n, "ONTASKDELETE" if n % 3 else "ONTASKUPDATE") for n in range(40)]
    statuses = ["ignored" if n % 3 else "pending" for n in range(40)]

    ids = journal.append_many(batch, now, statuses)

    assert len(set(ids)) == 40
    for event_id, event, status in zip(ids, batch, statuses, strict=True):
        record = journal.get(event_id)
        assert record is not None
        assert (record.task_id, record.name, record.status, record.source) == (
            event.task_id,
            event.name,
            status,
            "event",
        )
        assert record.received_at == record.available_at == now
        assert record.finished_at == (now if status == "ignored" else None)
    claimed = {claim.task_id for claim in journal.claim("w1", now, lease=LEASE, max_tasks=100)}
    assert claimed == {
        event.task_id for event, status in zip(batch, statuses, strict=True) if status == "pending"
    }


def test_batches_from_many_threads_at_once_each_get_their_own_rows(
    journal: Journal, engine: Engine, now: datetime
) -> None:
    # On PostgreSQL the sessions' inserts interleave in the id sequence: ids must still map back right.
    results: dict[int, list[tuple[int, int]]] = {}

    def append(thread: int) -> None:
        mine: list[tuple[int, int]] = []
        for round_ in range(10):
            batch = [task_event(thread * 10_000 + round_ * 100 + n) for n in range(8)]
            ids = journal.append_many(batch, now, ["pending"] * len(batch))
            mine.extend(zip(ids, (event.task_id for event in batch), strict=True))
        results[thread] = mine

    threads = [threading.Thread(target=append, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    pairs = [pair for thread in range(4) for pair in results[thread]]
    assert len(pairs) == rows(engine) == 320
    assert len({event_id for event_id, _ in pairs}) == 320
    with engine.connect() as connection:
        stored = dict(connection.execute(select(events.c.id, events.c.task_id)).all())
    assert stored == dict(pairs)


def test_a_failing_batch_stores_none_of_its_events(journal: Journal, engine: Engine, now: datetime) -> None:
    too_big = replace(task_event(1), task_id=2**63)  # over BIGINT: the database refuses the third row
    batch = [task_event(1), task_event(2), too_big, task_event(4)]

    with pytest.raises((OverflowError, psycopg.DataError)):  # refused by the SQLite driver, PostgreSQL
        journal.append_many(batch, now, ["pending"] * 4)

    assert rows(engine) == 0
    with pytest.raises(ValueError, match="pending or ignored"):
        journal.append_many([task_event(1), task_event(2)], now, ["pending", "done"])
    with pytest.raises(Exception, match="naive datetime"):
        journal.append_many([task_event(1)], now.replace(tzinfo=None), ["pending"])
    assert rows(engine) == 0
    assert journal.append_many([task_event(5)], now, ["pending"]) != []


def test_mismatched_statuses_and_empty_batches(journal: Journal, engine: Engine, now: datetime) -> None:
    with pytest.raises(ValueError, match="2 events but 1 statuses"):
        journal.append_many([task_event(1), task_event(2)], now, ["pending"])
    assert journal.append_many([], now, []) == []
    assert rows(engine) == 0


def test_a_batch_never_stores_credentials(journal: Journal, engine: Engine, now: datetime) -> None:
    journal.append_many([task_event(1), task_event(2)], now, ["pending", "ignored"])

    with engine.connect() as connection:
        stored = connection.execute(select(events)).all()
    assert len(stored) == 2
    assert SECRET not in repr([tuple(row) for row in stored])
