"""The task as it was read when the rules last decided on it: what `diff --from-audit` evaluates against.

The audit keeps each selected entry; this keeps, per task, the task's fields and its previous status at
that moment, so a proposed rule's `when` (task title, status, a reopen…) is judged on the same task the
running rules saw, without asking the portal. One row per task, overwritten by every decision.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, Engine, Integer, String, Table, select

from service.store.db import UtcDateTime, metadata, reading, upsert

decided_tasks = Table(
    "decided_tasks",
    metadata,
    Column("portal", String(64), primary_key=True, server_default="", default=""),
    Column("task_id", BigInteger, primary_key=True, autoincrement=False),
    Column("task", JSON, nullable=False),  # as tasks.task.get returned it
    Column("previous_status", Integer),  # the status before this one, when a transition was seen
    Column("decided_at", UtcDateTime(), nullable=False),
)


@dataclass(frozen=True)
class DecidedTask:
    task: dict[str, Any]
    previous_status: int | None
    decided_at: datetime


class DecidedTasks:
    def __init__(self, engine: Engine, portal: str = "") -> None:
        self._engine = engine
        self._portal = portal

    def put(self, tasks: Sequence[tuple[int, Mapping[str, Any], int | None]], now: datetime) -> None:
        """(task id, task fields, previous status) of each task the rules just decided on."""
        if not tasks:
            return
        rows = [
            {"portal": self._portal, "task_id": task_id, "task": dict(task), "previous_status": previous,
             "decided_at": now}
            for task_id, task, previous in sorted(tasks, key=lambda row: row[0])  # key order: no deadlock
        ]  # fmt: skip
        with self._engine.begin() as connection:  # one transaction, one prepared statement
            insert = upsert(connection, decided_tasks)
            new = {name: insert.excluded[name] for name in ("task", "previous_status", "decided_at")}
            keys = [decided_tasks.c.portal, decided_tasks.c.task_id]
            connection.execute(insert.on_conflict_do_update(index_elements=keys, set_=new), rows)

    def get(self, task_ids: Sequence[int]) -> dict[int, DecidedTask]:
        if not task_ids:
            return {}
        statement = select(decided_tasks).where(
            decided_tasks.c.portal == self._portal, decided_tasks.c.task_id.in_(list(task_ids))
        )
        with reading(self._engine) as connection:
            return {
                int(row.task_id): DecidedTask(row.task, row.previous_status, row.decided_at)
                for row in connection.execute(statement)
            }

    def prune(self, now: datetime, older_than: timedelta) -> int:
        """Forget tasks not decided on since now - older_than (the audit's retention)."""
        with self._engine.begin() as connection:
            statement = decided_tasks.delete().where(decided_tasks.c.decided_at < now - older_than)
            return connection.execute(statement).rowcount
