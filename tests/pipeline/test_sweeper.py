"""The sweeper in process against the sandbox: the first sweep only anchors its watermarks; later ones
enqueue the tasks changed since (lost events) and the tasks with new time entries (which fire no event)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from service.assembly.wiring import make_gateway, make_sweeper
from service.pipeline.sweeper import SWEEP_LEASE, Sweeper
from service.plumbing.clock import utcnow
from service.store.sweeps import SweepState
from tests.inprocess import Rig, commits_writing, rig


class PortalClock:
    """The portal's clock and ours, a little apart (the watermark must follow the portal's)."""

    def __init__(self) -> None:
        self.now = float(int(time.time()))

    def __call__(self) -> float:
        return self.now

    def ours(self) -> datetime:
        return datetime.fromtimestamp(self.now + 7.5, UTC)


@pytest.fixture
def clock() -> PortalClock:
    return PortalClock()


@pytest.fixture
def world(clock: PortalClock) -> Iterator[Rig]:
    with rig(portal_clock=clock, b24_sweep_interval=900) as made:
        for task_id in (1, 2, 3):
            made.sandbox.portal.create_task(
                f"t{task_id}", task_id=task_id, status=3, entries=[{"seconds": 60}]
            )
        yield made


def sweeper_of(world: Rig, owner: str = "s1") -> Sweeper:
    return make_sweeper(world.resources, make_gateway(world.resources), owner=owner)


def queued(world: Rig) -> list[tuple[int, str]]:
    return sorted((row.task_id, row.source) for row in map(world.event_row, world.statuses()))


def test_the_first_sweep_acts_on_nothing_and_later_ones_find_changes_no_event_told(
    world: Rig, clock: PortalClock
) -> None:
    sweeper = sweeper_of(world)

    first = sweeper.run_once(clock.ours())
    assert first is not None
    assert first.tasks == 0
    assert queued(world) == []  # installing b24rules does not act on every recent task at once

    clock.now += 60
    world.sandbox.portal.set_status(1, 5)  # a change whose event was lost
    world.sandbox.portal.add_entry(2, 0)  # a time entry: no event, no CHANGED_DATE
    second = sweeper.run_once(clock.ours())

    changed = world.sandbox.portal.get_task(1)
    assert second is not None
    assert second.tasks == 2
    assert changed is not None
    assert second.watermark == changed.changed_date  # the portal's clock, not ours
    assert queued(world) == [(1, "sweep"), (2, "sweep")]
    assert second.entry_watermark == max(e.id for e in world.sandbox.portal.entries_of(None))


def test_tasks_the_first_sweep_left_alone_stay_alone_until_they_change(
    world: Rig, clock: PortalClock
) -> None:
    # The tasks changed in the very second the first sweep lists from: it lists them and leaves them
    # alone; the next sweeps list them again (the watermark includes its second) and must too.
    sweeper, at_install = sweeper_of(world), datetime.fromtimestamp(clock.now, UTC)
    first = sweeper.run_once(at_install)
    assert first is not None
    assert first.tasks == 0
    clock.now += 60
    assert sweeper.run_once(at_install + timedelta(seconds=60)) is not None
    assert queued(world) == []
    world.sandbox.portal.set_status(1, 5)  # changed since: a lost event, swept
    assert sweeper.run_once(at_install + timedelta(seconds=120)) is not None
    assert queued(world) == [(1, "sweep")]


def test_a_sweep_queues_every_task_it_found_in_one_commit(world: Rig, clock: PortalClock) -> None:
    """A first back-fill of a big portal finds every task: one commit per task took 10,000 tasks ~50 s."""
    for task_id in range(10, 70):
        world.sandbox.portal.create_task(f"t{task_id}", task_id=task_id, status=3)
    sweeper = sweeper_of(world)
    inserts = commits_writing(world.resources.engine, ("INSERT INTO EVENTS",))

    report = sweeper.run_once(clock.ours(), since=clock.ours() - timedelta(hours=1))

    assert report is not None
    assert report.tasks == 63
    assert queued(world) == [(task_id, "sweep") for task_id in (1, 2, 3, *range(10, 70))]
    assert len(inserts) == 1


def test_one_sweeper_leads_at_a_time(world: Rig) -> None:
    now = utcnow()
    assert SweepState(world.resources.engine).try_lead("other-replica", now, SWEEP_LEASE)

    assert sweeper_of(world).run_once(now) is None
    assert world.sandbox.portal.calls() == []


def test_a_sweep_runs_once_per_interval(world: Rig) -> None:
    sweeper, now = sweeper_of(world), utcnow()

    assert sweeper.maybe_run(now) is not None
    assert sweeper.maybe_run(now + timedelta(seconds=899)) is None
    assert sweeper.maybe_run(now + timedelta(seconds=900)) is not None
