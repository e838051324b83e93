"""The worker loop, in process: a round outlasting its lease keeps its tasks, a failed round is retried,
the idle loop prunes, and the assembled worker takes an event to a deletion on the portal."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from service.assembly.wiring import make_gateway, make_processor, make_worker
from service.pipeline.rounds import Processor
from service.pipeline.worker import Retention, Worker
from service.store.audit import AuditLog
from service.store.claims import NO_WAIT
from service.store.eventlog import task_leases
from service.store.journal import Claim
from service.store.snapshots import TaskSnapshots
from tests.inprocess import Rig

LEASE = timedelta(seconds=0.3)  # the heartbeat beats every 0.1 s (real time)
START = datetime(2025, 9, 27, 12, tzinfo=UTC)


class Clock:
    def __init__(self, now: datetime = START) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def worker_of(world: Rig, processor: Processor, clock: Clock, owner: str = "w1") -> Worker:
    engine = world.resources.engine
    retention = Retention(AuditLog(engine), TaskSnapshots(engine), timedelta(days=1), timedelta(days=30))
    return Worker(
        world.resources.journal, world.resources.rules, processor, None, retention,
        owner=owner, lease=LEASE, poll_seconds=0.02, clock=clock,
    )  # fmt: skip


def lease_expiry(world: Rig, task_id: int) -> datetime | None:
    query = select(task_leases.c.expires_at).where(task_leases.c.task_id == task_id)
    with world.resources.engine.connect() as connection:
        value = connection.scalar(query)
    return value if isinstance(value, datetime) else None


def test_a_round_that_outlasts_its_lease_keeps_its_task_from_other_workers(
    world: Rig, monkeypatch: pytest.MonkeyPatch
) -> None:
    task = world.task()
    event = world.event(task, START)
    clock = Clock()
    processor = make_processor(world.resources, make_gateway(world.resources))
    rivals: list[Claim] = []
    process = processor.run

    def slow_round(claims: Sequence[Claim]) -> bool:
        clock.now += LEASE * 2  # the lease taken when the round began has run out by now
        deadline = time.monotonic() + 3
        while (lease_expiry(world, task) or START) <= clock.now and time.monotonic() < deadline:
            time.sleep(0.02)  # the heartbeat extends it from the clock's new time
        rivals.extend(
            world.resources.journal.claim("w2", clock.now, lease=LEASE, max_tasks=10, quiet=NO_WAIT)
        )
        return process(claims)

    monkeypatch.setattr(processor, "run", slow_round)

    assert worker_of(world, processor, clock).run_once(NO_WAIT)

    assert rivals == []  # no second worker evaluates the task while the first still works on it
    assert world.statuses() == {event: "done"}
    assert [e["SECONDS"] for e in world.entries(task)] == ["3600"]


def test_a_round_that_breaks_down_retries_its_claims_and_the_loop_goes_on(
    world: Rig, monkeypatch: pytest.MonkeyPatch
) -> None:
    event = world.event(world.task(), START)
    processor = make_processor(world.resources, make_gateway(world.resources))

    def broken(claims: Sequence[Claim]) -> bool:
        raise RuntimeError("a bug in the round")

    monkeypatch.setattr(processor, "run", broken)

    assert worker_of(world, processor, Clock()).run_once(NO_WAIT)

    row = world.event_row(event)
    assert (row.status, row.attempts) == ("pending", 1)
    assert "a bug in the round" in row.last_error
    assert len(world.entries(691)) == 3  # nothing was deleted


def done_event(world: Rig, task_id: int, at: datetime) -> int:
    event = world.event(task_id, at)
    journal = world.resources.journal
    [claim] = journal.claim("w0", at, lease=LEASE, max_tasks=1, quiet=NO_WAIT)
    assert journal.complete(claim, at)
    return event


def test_when_idle_the_loop_prunes_events_past_their_retention(world: Rig) -> None:
    now = START + timedelta(days=2)
    old, fresh = (done_event(world, world.task(), now - timedelta(days=3)), done_event(world, 691, now))
    processor = make_processor(world.resources, make_gateway(world.resources))
    worker = worker_of(world, processor, Clock(now))
    stop = threading.Event()
    loop = threading.Thread(target=worker.run, args=(stop,))
    loop.start()
    try:
        deadline = time.monotonic() + 5
        while old in world.statuses() and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        stop.set()
        loop.join(5)
    assert not loop.is_alive()
    assert world.statuses() == {fresh: "done"}  # done three days ago and kept one day: pruned


def test_the_assembled_worker_drains_an_event_to_a_deletion_on_the_portal(world: Rig) -> None:
    event = world.event(world.task())
    worker = make_worker(world.resources, owner="w1", sweep=False)

    assert worker.drain(timeout=10) == 1

    assert world.statuses() == {event: "done"}
    assert [e["SECONDS"] for e in world.entries(691)] == ["3600"]
    assert [(r.item_id, r.outcome) for r in world.audit(691)] == [(1, "deleted"), (2, "deleted")]


def test_drain_without_a_limit_processes_the_whole_queue_however_long_it_takes(world: Rig) -> None:
    # `worker --once` drains with no limit: a backlog whose rounds take minutes is still worked through.
    events = [world.event(task, START) for task in (world.task(), world.task(692), world.task(693))]
    clock = Clock()
    processor = make_processor(world.resources, make_gateway(world.resources))
    run = processor.run

    def a_minute_per_round(claims: Sequence[Claim]) -> bool:
        clock.now += timedelta(minutes=1)
        return run(claims)

    processor.run = a_minute_per_round  # type: ignore[method-assign]
    engine = world.resources.engine
    retention = Retention(AuditLog(engine), TaskSnapshots(engine), timedelta(days=1), timedelta(days=30))
    worker = Worker(
        world.resources.journal, world.resources.rules, processor, None, retention,
        owner="w1", lease=timedelta(hours=1), poll_seconds=0.02, clock=clock, max_tasks=1,
    )  # fmt: skip
    assert worker.drain(timeout=60) == 1  # the default limit: one round of a minute, then it stops
    assert worker.drain(timeout=None) == 2  # no limit: the rest
    assert set(world.statuses().values()) == {"done"}
    assert sorted(world.statuses()) == sorted(events)


def test_a_stop_past_the_grace_period_abandons_the_round_and_gives_its_tasks_back(
    world: Rig, monkeypatch: pytest.MonkeyPatch
) -> None:
    from service.pipeline.shutdown import run_until_stopped

    task = world.task()
    event = world.event(task, START)
    processor = make_processor(world.resources, make_gateway(world.resources))
    in_round, never = threading.Event(), threading.Event()

    def hanging_round(claims: Sequence[Claim]) -> bool:  # a portal call that does not come back
        in_round.set()
        never.wait(30)
        return True

    monkeypatch.setattr(processor, "run", hanging_round)
    worker = worker_of(world, processor, Clock(), owner="w1")
    monkeypatch.setattr(worker, "_quiet", NO_WAIT)
    stop = threading.Event()
    outcome: list[bool] = []
    runner = threading.Thread(target=lambda: outcome.append(run_until_stopped(worker, stop, grace=0.5)))
    runner.start()
    assert in_round.wait(10)
    assert lease_expiry(world, task) is not None  # the round holds the task
    stopped_at = time.monotonic()
    stop.set()  # SIGTERM, mid-round
    runner.join(5)
    never.set()
    assert outcome == [False]  # abandoned ...
    assert time.monotonic() - stopped_at < 2  # ... within its grace (0.5 s), not after the round
    row = world.event_row(event)
    assert (row.status, row.attempts) == ("pending", 0)  # given back whole, no attempt counted
    assert lease_expiry(world, task) is None


def test_a_stop_lets_a_round_that_finishes_within_the_grace_period_settle(world: Rig) -> None:
    from service.pipeline.shutdown import run_until_stopped

    event = world.event(world.task(), START)
    worker = make_worker(world.resources, owner="w1", sweep=False)
    stop = threading.Event()
    stop.set()  # stopped before it began: nothing claimed, a clean stop
    assert run_until_stopped(worker, stop, grace=5) is True
    assert world.statuses() == {event: "pending"}
