"""The notification log: every message owed to a person for a rule's deletions, and what became of it.

Outcomes: `would-notify` (shadow mode or dry-run: recorded, never sent), `pending` (about to be sent),
`sent`, `failed` (sent again later, with backoff, by whichever worker claims it first) and `abandoned`
(failed `MAX_ATTEMPTS` times). A `pending` record untouched for `STALE_PENDING` belonged to a worker
that died between recording and sending: it is claimed again like a failed one (at least once: a
worker killed after the portal's answer and before its record may have sent it already).
A notification never undoes or holds back a deletion: it is written after the deletions' outcomes, and
its own failures stay here. `b24rules audit --notifications` reads it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Engine,
    Index,
    Integer,
    String,
    Table,
    Text,
    and_,
    insert,
    or_,
    select,
    update,
)

from service.store.db import Id, UtcDateTime, metadata, reading

WOULD_NOTIFY = "would-notify"
OUTCOMES = (WOULD_NOTIFY, "pending", "sent", "failed", "abandoned")
MAX_ATTEMPTS = 5
# Far longer than one send takes (one batch request, the client's 65 s read timeout at most) and than a
# round runs: a record is written with its round's start time, and a live worker's must not look dead.
STALE_PENDING = timedelta(hours=1)

notifications = Table(
    "notifications",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    # The member id of an installed portal (application mode), '' for the webhook portal: a retry goes
    # back to the portal the message belongs to.
    Column("portal", String(64), nullable=False, server_default="", default=""),
    Column("task_id", BigInteger, nullable=False),
    Column("recipient", BigInteger, nullable=False),  # the user id the message is for; 0: a task comment
    Column("via", String(16), nullable=False),  # comment | notification
    Column("rules", String(1000), nullable=False),  # comma-separated rule names
    Column("item_ids", JSON, nullable=False),  # the entries it names
    Column("message", Text, nullable=False),
    Column("outcome", String(16), nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_at", UtcDateTime()),  # a failed one is sent again from then on
    Column("error", Text),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    Index("notifications_by_task", "task_id", "created_at"),
    Index("notifications_due", "outcome", "next_at"),
)


@dataclass(frozen=True)
class NoticeDraft:
    task_id: int
    recipient: int
    via: str
    rules: str
    item_ids: list[int]
    message: str
    outcome: str  # would-notify | pending


@dataclass(frozen=True)
class NoticeRecord:
    id: int
    portal: str
    task_id: int
    recipient: int
    via: str
    rules: str
    item_ids: list[int]
    message: str
    outcome: str
    attempts: int
    next_at: datetime | None
    error: str | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_row(cls, row: Any) -> NoticeRecord:
        return cls(**{column.name: row._mapping[column] for column in notifications.columns})


class NoticeLog:
    def __init__(self, engine: Engine, portal: str = "") -> None:
        self._engine = engine
        self._portal = portal
        self._mine = notifications.c.portal == portal

    def record(self, drafts: Sequence[NoticeDraft], now: datetime) -> list[int]:
        ids = []
        with self._engine.begin() as connection:
            for draft in drafts:
                values = dict(vars(draft), portal=self._portal, attempts=0, created_at=now, updated_at=now)
                statement = insert(notifications).values(**values).returning(notifications.c.id)
                ids.append(int(connection.execute(statement).scalar_one()))
        return ids

    def finish(self, notice_id: int, outcome: str, now: datetime, *, error: str | None = None,
               next_at: datetime | None = None) -> None:  # fmt: skip
        """Record one delivery attempt: sent, failed (to be retried from `next_at`) or abandoned."""
        values = {"outcome": outcome, "error": error, "next_at": next_at, "updated_at": now}
        statement = (
            update(notifications)
            .where(notifications.c.id == notice_id)
            .values(attempts=notifications.c.attempts + 1, **values)
        )
        with self._engine.begin() as connection:
            connection.execute(statement)

    def claim_due(self, now: datetime, limit: int = 50) -> list[NoticeRecord]:
        """Failed notifications due again, and pending ones a dead worker left behind, each claimed (back
        to pending, `updated_at` now) by exactly one caller."""
        n = notifications.c
        failed_due = and_(n.outcome == "failed", n.next_at <= now)
        abandoned_pending = and_(n.outcome == "pending", n.updated_at <= now - STALE_PENDING)
        due = select(notifications).where(self._mine, or_(failed_due, abandoned_pending))
        claimed = []
        for record in self._records(due.order_by(n.id).limit(limit)):
            unchanged = (n.outcome == record.outcome) & (n.updated_at == record.updated_at)
            statement = (
                update(notifications)
                .where(n.id == record.id, unchanged)
                .values(outcome="pending", updated_at=now)
            )
            with self._engine.begin() as connection:
                if connection.execute(statement).rowcount:
                    claimed.append(record)
        return claimed

    def query(
        self,
        task_id: int | None = None,
        rule: str | None = None,
        since: datetime | None = None,
        limit: int = 200,
        portal: str | None = None,
    ) -> list[NoticeRecord]:
        """Records newest first; `rule` matches any of the rules a message speaks for; `portal`: one
        portal's records, None for every portal's."""
        statement = select(notifications).order_by(notifications.c.id.desc())
        if portal is not None:
            statement = statement.where(notifications.c.portal == portal)
        if task_id is not None:
            statement = statement.where(notifications.c.task_id == task_id)
        if since is not None:
            statement = statement.where(notifications.c.created_at >= since)
        records = self._records(statement)
        if rule is not None:
            records = [r for r in records if rule in r.rules.split(",")]
        return records[:limit]

    def prune(self, now: datetime, older_than: timedelta) -> int:
        """Forget records of every portal created before now - older_than (the audit's retention)."""
        with self._engine.begin() as connection:
            old = notifications.c.created_at < now - older_than
            return connection.execute(notifications.delete().where(old)).rowcount

    def _records(self, statement: Any) -> list[NoticeRecord]:
        with reading(self._engine) as connection:
            return [NoticeRecord.from_row(row) for row in connection.execute(statement)]
