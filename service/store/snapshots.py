"""Last seen status of each task, so that an evaluation can tell a task was reopened since last time."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import BigInteger, Column, Engine, Integer, String, Table, select

from service.store.db import UtcDateTime, metadata, reading, upsert

task_snapshots = Table(
    "task_snapshots",
    metadata,
    # The member id of an installed portal (application mode), '' for the webhook portal (version 3).
    Column("portal", String(64), primary_key=True, server_default="", default=""),
    Column("task_id", BigInteger, primary_key=True, autoincrement=False),
    Column("status", Integer, nullable=False),  # Bitrix24 task status 1-7
    Column("changed_date", UtcDateTime()),  # the task's CHANGED_DATE when seen, if known
    Column("seen_at", UtcDateTime(), nullable=False),
)


@dataclass(frozen=True)
class Snapshot:
    task_id: int
    status: int
    seen_at: datetime
    changed_date: datetime | None


class TaskSnapshots:
    """Read and replace the stored snapshot of a task.

    Writes are last-writer-wins; that is safe because a task is evaluated by one worker at a time
    (task leases in the journal), so writes for one task come in evaluation order.
    """

    def __init__(self, engine: Engine, portal: str = "") -> None:
        self._engine = engine
        self._portal = portal
        self._mine = task_snapshots.c.portal == portal

    def get(self, task_id: int) -> Snapshot | None:
        with reading(self._engine) as connection:
            row = connection.execute(
                select(task_snapshots).where(self._mine, task_snapshots.c.task_id == task_id)
            ).first()
        if row is None:
            return None
        return Snapshot(
            task_id=row.task_id, status=row.status, seen_at=row.seen_at, changed_date=row.changed_date
        )

    def get_many(self, task_ids: Collection[int]) -> dict[int, Snapshot]:
        """`get` for many tasks in one query: the snapshots that exist, by task id."""
        if not task_ids:
            return {}
        query = select(task_snapshots).where(self._mine, task_snapshots.c.task_id.in_(sorted(task_ids)))
        with reading(self._engine) as connection:
            rows = connection.execute(query).all()
        return {row.task_id: Snapshot(row.task_id, row.status, row.seen_at, row.changed_date) for row in rows}

    def put_many(self, statuses: Mapping[int, int], now: datetime) -> None:
        """`put` (without a changed date) for many tasks in ONE transaction: a round's snapshots."""
        if not statuses:
            return
        rows = [
            {
                "portal": self._portal,
                "task_id": task_id,
                "status": status,
                "seen_at": now,
                "changed_date": None,
            }
            for task_id, status in sorted(statuses.items())  # in key order: no lock-order deadlock
        ]
        with self._engine.begin() as connection:
            insert = upsert(connection, task_snapshots)
            new = {name: insert.excluded[name] for name in ("status", "seen_at", "changed_date")}
            keys = [task_snapshots.c.portal, task_snapshots.c.task_id]
            connection.execute(insert.on_conflict_do_update(index_elements=keys, set_=new), rows)

    def put(self, task_id: int, status: int, now: datetime, changed_date: datetime | None = None) -> None:
        values = {"status": status, "seen_at": now, "changed_date": changed_date}
        with self._engine.begin() as connection:
            statement = upsert(connection, task_snapshots).values(
                portal=self._portal, task_id=task_id, **values
            )
            keys = [task_snapshots.c.portal, task_snapshots.c.task_id]
            connection.execute(statement.on_conflict_do_update(index_elements=keys, set_=values))

    def forget(self, task_id: int) -> bool:
        """Drop the snapshot (task deleted); True if there was one."""
        with self._engine.begin() as connection:
            deleted = connection.execute(
                task_snapshots.delete().where(self._mine, task_snapshots.c.task_id == task_id)
            )
            return bool(deleted.rowcount)

    def prune(self, now: datetime, *, unseen_for: timedelta) -> int:
        """Forget tasks not seen for `unseen_for` (deleted tasks whose ONTASKDELETE no rule listened to).

        Losing an old snapshot is harmless: the next evaluation of that task reads its status history."""
        cutoff = now - unseen_for
        with self._engine.begin() as connection:
            deleted = connection.execute(task_snapshots.delete().where(task_snapshots.c.seen_at < cutoff))
            return int(deleted.rowcount or 0)
