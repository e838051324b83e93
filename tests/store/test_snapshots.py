from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Engine

from service.store.snapshots import Snapshot, TaskSnapshots


def test_put_get_replace_forget(engine: Engine, now: datetime) -> None:
    snapshots = TaskSnapshots(engine)
    assert snapshots.get(11) is None

    snapshots.put(11, 5, now)
    changed = now - timedelta(minutes=3)
    snapshots.put(11, 2, now + timedelta(seconds=1), changed_date=changed)

    assert snapshots.get(11) == Snapshot(
        task_id=11, status=2, seen_at=now + timedelta(seconds=1), changed_date=changed
    )
    assert snapshots.forget(11)
    assert not snapshots.forget(11)
    assert snapshots.get(11) is None


def test_snapshots_are_per_task(engine: Engine, now: datetime) -> None:
    snapshots = TaskSnapshots(engine)
    snapshots.put(1, 5, now)
    snapshots.put(2, 3, now)

    assert [snapshots.get(task_id).status for task_id in (1, 2)] == [5, 3]  # type: ignore[union-attr]


def test_prune_forgets_only_tasks_unseen_for_longer_than_the_retention(engine: Engine, now: datetime) -> None:
    snapshots = TaskSnapshots(engine)
    snapshots.put(1, 5, now - timedelta(days=200))
    snapshots.put(2, 3, now - timedelta(days=10))

    assert snapshots.prune(now, unseen_for=timedelta(days=180)) == 1
    assert snapshots.get(1) is None
    assert snapshots.get(2) is not None


def test_a_rounds_snapshots_are_read_and_written_together(engine: Engine, now: datetime) -> None:
    snapshots, other_portal = TaskSnapshots(engine), TaskSnapshots(engine, "m-other")
    snapshots.put(1, 5, now - timedelta(hours=1), changed_date=now - timedelta(hours=2))
    other_portal.put(2, 6, now)

    snapshots.put_many({1: 3, 2: 2, 3: 4}, now)  # replaces 1, adds 2 and 3 for this portal only

    assert snapshots.get_many([1, 2, 3, 4]) == {
        1: Snapshot(1, 3, now, None),
        2: Snapshot(2, 2, now, None),
        3: Snapshot(3, 4, now, None),
    }
    assert other_portal.get_many([1, 2]) == {2: Snapshot(2, 6, now, None)}
    assert snapshots.get_many([]) == {}
