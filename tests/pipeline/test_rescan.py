"""Entries edited in place (`task.elapseditem.update`: same id, no event, the task's CHANGED_DATE left
alone) are caught by the sweep's rescan: one edited to 0 s is deleted within one sweep."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
import requests

from service.assembly.wiring import make_gateway, make_sweeper
from service.pipeline.rescan import EditRescan
from service.plumbing.clock import utcnow
from service.store.fingerprints import EntryFingerprints
from tests.inprocess import Rig, rig

WORK = {"seconds": 3600, "user_id": 1, "comment": "real work"}
MINUTE = {"seconds": 60, "user_id": 1, "comment": "a minute, later edited to nothing"}


class PortalClock:
    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset


@pytest.fixture
def clock() -> PortalClock:
    return PortalClock()


@pytest.fixture
def world(clock: PortalClock) -> Iterator[Rig]:
    with rig(b24_rescan_hours=48, portal_clock=clock) as made:
        yield made


def settled_task(world: Rig, clock: PortalClock) -> tuple[int, int]:
    """Task 691 with an hour and a minute logged, then another task changed later, so that 691 is well
    behind the sweep's CHANGED_DATE watermark: only its entries can bring it back."""
    task = world.task(691, (WORK, MINUTE))
    clock.offset += 5  # portal dates have whole seconds
    world.task(692, (WORK,))
    minute = next(int(e["ID"]) for e in world.entries(task) if e["SECONDS"] == "60")
    return task, minute


def edit_seconds(world: Rig, task_id: int, item_id: int, seconds: int) -> None:
    """What a person's edit does, through the portal's REST API (positional: TASKID, ITEMID, ARFIELDS)."""
    body = {"TASKID": task_id, "ITEMID": item_id, "ARFIELDS": {"SECONDS": seconds}}
    answer = requests.post(world.sandbox.webhook_url + "task.elapseditem.update", json=body, timeout=10)
    assert answer.status_code == 200, answer.text


def test_an_entry_edited_to_zero_seconds_is_deleted_within_one_sweep(world: Rig, clock: PortalClock) -> None:
    task, minute = settled_task(world, clock)
    sweeper = make_sweeper(world.resources, make_gateway(world.resources), owner="sweeper")
    first = sweeper.run_once(utcnow())  # the first sweep acts on nothing, and reads what is there
    assert first is not None
    assert first.tasks == 0
    calm = sweeper.run_once(utcnow())  # nothing edited: nothing to do
    assert calm is not None
    assert calm.edited == 0
    world.drain()
    assert len(world.entries(task)) == 2
    changed_before = world.sandbox.portal.get_task(task).changed_date  # type: ignore[union-attr]

    edit_seconds(world, task, minute, 0)
    assert world.sandbox.portal.get_task(task).changed_date == changed_before  # type: ignore[union-attr]
    report = sweeper.run_once(utcnow())
    world.drain()

    assert report is not None
    assert report.edited == 1
    assert [e["SECONDS"] for e in world.entries(task)] == ["3600"]
    [record] = world.audit(task)
    assert (record.item_id, record.outcome, record.cause) == (minute, "deleted", "sweep")


def test_with_the_rescan_off_an_edit_goes_unnoticed(world: Rig, clock: PortalClock) -> None:
    task, minute = settled_task(world, clock)
    resources = world.resources
    off = type(resources)(**{**vars(resources), "settings": resources.settings.model_copy(
        update={"b24_rescan_hours": 0})})  # fmt: skip
    sweeper = make_sweeper(off, make_gateway(off), owner="sweeper")
    sweeper.run_once(utcnow())
    sweeper.run_once(utcnow())
    world.drain()
    edit_seconds(world, task, minute, 0)
    report = sweeper.run_once(utcnow())
    world.drain()

    assert report is not None
    assert report.edited == 0
    assert len(world.entries(task)) == 2


def test_a_window_larger_than_one_pass_is_read_over_the_next_sweeps(world: Rig, clock: PortalClock) -> None:
    """One request reads 50 entries here (a real pass: 100,000): the 61 recent entries take two passes,
    and an edit to the newest one is seen by the pass that reaches it, not left out for ever."""
    task = world.task(691, (*[MINUTE] * 60, WORK))
    newest = max(int(e["ID"]) for e in world.entries(task))
    rescan = EditRescan(make_gateway(world.resources), EntryFingerprints(world.resources.engine), hours=48,
                        max_requests=1)  # fmt: skip
    assert [rescan.run(utcnow()) for _ in range(2)] == [set(), set()]  # first sightings only: stored

    edit_seconds(world, task, newest, 0)

    assert [rescan.run(utcnow()) for _ in range(2)] == [set(), {task}]  # the oldest 50, then the rest
