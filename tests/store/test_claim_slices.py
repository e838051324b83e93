"""A claim and a completion write in short transactions (the web's group commits wait for the same SQLite
write lock between them), without changing what is claimed or completed."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime, timedelta

import pytest
from sqlalchemy import Engine
from sqlalchemy import event as sqlalchemy_event
from sqlalchemy.exc import OperationalError

from service.store import leasing, slices
from service.store.journal import Journal
from tests.store.conftest import task_event

LEASE = timedelta(seconds=30)
REAL_TAKE = leasing.take_leases


def failing_on(task_id: int) -> Callable[..., object]:
    """`leasing.take_leases` as it is, but a take that includes `task_id` fails like a locked database."""

    def take(connection, portal, task_ids, *args):  # type: ignore[no-untyped-def]
        if task_id in task_ids:
            raise OperationalError("UPDATE", {}, Exception("database is locked"))
        return REAL_TAKE(connection, portal, task_ids, *args)

    return take


@pytest.fixture
def journal(engine: Engine) -> Journal:
    return Journal(engine)


@pytest.fixture
def commits(engine: Engine) -> Iterator[list[int]]:
    counted: list[int] = []

    def committed(_connection: object) -> None:
        counted.append(1)

    sqlalchemy_event.listen(engine, "commit", committed)
    yield counted
    sqlalchemy_event.remove(engine, "commit", committed)


def test_a_claim_past_its_time_slice_goes_on_in_the_next_transaction(
    journal: Journal, now: datetime, commits: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    for task_id in (5, 1, 4, 2, 3):
        journal.append(task_event(task_id), now)
        journal.append(task_event(task_id), now)
    monkeypatch.setattr(slices, "WRITE_SLICE", 0.0)  # every slice ends after its first take
    monkeypatch.setattr(slices, "TASKS_PER_TAKE", 1)  # of one task
    commits.clear()

    taken = journal.claim("w1", now, lease=LEASE, max_tasks=4)

    assert [claim.task_id for claim in taken] == [1, 2, 4, 5]  # the 4 oldest, as one transaction took them
    assert all(len(claim.event_ids) == 2 for claim in taken)
    assert len(commits) == 1 + 4  # the read of the candidates, then one write transaction a task
    [last] = journal.claim("w1", now, lease=LEASE)
    assert last.task_id == 3


def test_a_failed_later_slice_keeps_the_tasks_taken_and_leaves_the_rest_claimable(
    journal: Journal, now: datetime, monkeypatch: pytest.MonkeyPatch
) -> None:
    for task_id in (1, 2, 3):
        journal.append(task_event(task_id), now)
    monkeypatch.setattr(slices, "WRITE_SLICE", 0.0)
    monkeypatch.setattr(slices, "TASKS_PER_TAKE", 1)
    monkeypatch.setattr(leasing, "take_leases", failing_on(2))
    assert [claim.task_id for claim in journal.claim("w1", now, lease=LEASE)] == [1]

    monkeypatch.setattr(leasing, "take_leases", REAL_TAKE)
    assert [claim.task_id for claim in journal.claim("w1", now, lease=LEASE)] == [2, 3]


def test_a_slice_that_fails_after_taking_some_tasks_claims_none_of_them(
    journal: Journal, now: datetime, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its transaction rolled back: the tasks it had taken are not claims, and stay claimable."""
    for task_id in (1, 2, 3):
        journal.append(task_event(task_id), now)
    monkeypatch.setattr(slices, "WRITE_SLICE", 60.0)  # one slice,
    monkeypatch.setattr(slices, "TASKS_PER_TAKE", 1)  # three takes in it: tasks 1 and 2, then 3 fails
    monkeypatch.setattr(leasing, "take_leases", failing_on(3))
    with pytest.raises(OperationalError):
        journal.claim("w1", now, lease=LEASE)

    monkeypatch.setattr(leasing, "take_leases", REAL_TAKE)
    assert [claim.task_id for claim in journal.claim("w1", now, lease=LEASE)] == [1, 2, 3]


def test_a_failure_in_the_first_slice_is_raised(
    journal: Journal, now: datetime, monkeypatch: pytest.MonkeyPatch
) -> None:
    journal.append(task_event(1), now)

    def failing(*_args: object) -> bool:
        raise OperationalError("UPDATE", {}, Exception("database is locked"))

    monkeypatch.setattr(leasing, "take_leases", failing)
    with pytest.raises(OperationalError):
        journal.claim("w1", now, lease=LEASE)


def test_completions_are_written_a_few_events_per_transaction(
    journal: Journal, now: datetime, commits: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = [journal.append(task_event(task_id), now) for task_id in (1, 1, 2, 3, 3, 3, 4)]
    taken = journal.claim("w1", now, lease=LEASE)
    monkeypatch.setattr(slices, "WRITE_EVENTS", 3)
    commits.clear()

    assert journal.complete_many(taken, now) == 4

    assert len(commits) == 3  # tasks 1 and 2 (3 events), task 3 (3 events), task 4
    assert {journal.get(event_id).status for event_id in ids} == {"done"}  # type: ignore[union-attr]
    assert journal.claim("w1", now + timedelta(seconds=1), lease=LEASE) == []
