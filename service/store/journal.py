"""The event journal, which is also the work queue: every accepted event is a row, workers claim tasks.

Life of an event row: `pending` → `processing` (claimed under a task lease) → `done`, or back to
`pending` after `retry`/`release`, or `dead` after `dead_letter`. Events no rule listens to are stored
as `ignored`. `done` and `ignored` rows are pruned after a retention period; dead letters are kept
until replayed.

Claiming works per task, not per event (see `claims.py`): a worker takes a task's lease and every
pending event of that task at once, so a burst of events coalesces into one evaluation, and no two
workers evaluate the same task at the same time. Events that arrive while a task is leased stay
`pending`: they are not part of the running evaluation, and the task is claimed once more after
`complete`, so the newer state is always evaluated.

Credentials never reach this table: `append` stores `TaskEvent.public_fields()` only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, func, insert, select, update

from service.core.events import TaskEvent
from service.store import claims, slices
from service.store.claims import Claim
from service.store.db import reading
from service.store.eventbatch import EventBatchInsert, EventRow
from service.store.eventlog import (
    DEAD,
    DONE,
    IGNORED,
    PENDING,
    PROCESSING,
    SOURCES,
    EventRecord,
    events,
    task_leases,
)

__all__ = ["Claim", "EventRecord", "Journal", "QueueStats", "events", "task_leases"]


ENQUEUE_CHUNK = 1000  # sweep events per write transaction: one bounded INSERT holds SQLite's lock


@dataclass(frozen=True)
class QueueStats:
    pending: int
    processing: int
    dead: int
    oldest_pending_age_seconds: float  # 0 when nothing is pending


MAX_ERROR_CHARS = 2000


class Journal:
    """The event journal on one engine; every method is one short transaction."""

    def __init__(self, engine: Engine, portal: str = "") -> None:
        self._engine = engine
        self._batch = EventBatchInsert(engine)
        # '' = the webhook portal (every event); a member id = that installed portal's events only.
        self._portal = portal

    def for_portal(self, member_id: str) -> Journal:
        """The same journal, claiming and queueing only for the installed portal `member_id`."""
        return Journal(self._engine, member_id)

    def append(self, event: TaskEvent, now: datetime, *, status: str = PENDING, source: str = "event") -> int:
        """Store an accepted event (one INSERT); return its id. `status` is pending or ignored."""
        if status not in (PENDING, IGNORED):
            raise ValueError(f"an event is appended as pending or ignored, not {status!r}")
        fields = event.public_fields()
        return self._insert(
            name=fields["event"],
            task_id=fields["task_id"],
            ts=fields["ts"],
            handler_id=fields["event_handler_id"],
            domain=fields["domain"],
            member_id=fields["member_id"],
            source=source,
            status=status,
            now=now,
        )

    def append_many(self, batch: Sequence[TaskEvent], now: datetime, statuses: Sequence[str]) -> list[int]:
        """Store accepted events in ONE transaction (one commit, one fsync); their ids, in `batch` order.

        The web intake's group commit: many requests' events share one durable write. All or nothing:
        if the transaction fails, no event of the batch is stored.
        """
        if len(batch) != len(statuses):
            raise ValueError(f"{len(batch)} events but {len(statuses)} statuses")
        if not batch:
            return []
        rows = [_event_row(event, status) for event, status in zip(batch, statuses, strict=True)]
        return self._batch.insert(rows, now)

    def enqueue_task(
        self, task_id: int, now: datetime, *, source: str = "sweep", name: str = "ONTASKUPDATE"
    ) -> int:
        """Queue a synthetic event for `task_id` (sweeper, replay); it coalesces with real ones."""
        return self._insert(
            name=name,
            task_id=task_id,
            ts=None,
            handler_id="",
            domain="",
            member_id=self._portal,
            source=source,
            status=PENDING,
            now=now,
        )

    def enqueue_tasks(self, task_ids: Sequence[int], now: datetime, *, source: str = "sweep") -> int:
        """`enqueue_task` for many tasks, `ENQUEUE_CHUNK` to a write transaction (a sweep of 100,000 tasks:
        100 commits, not 100,000), each taking its turn at SQLite's write lock with the web's group
        commits, which must not wait seconds behind one big back-fill. A failure part-way leaves earlier
        chunks queued; the sweeper keeps its watermark and queues all again (they coalesce). How many."""
        if source not in SOURCES:
            raise ValueError(f"event source must be one of {SOURCES}, not {source!r}")
        row = {"name": "ONTASKUPDATE", "ts": None, "handler_id": "", "domain": "", "member_id": self._portal,
               "source": source, "status": PENDING, "attempts": 0, "received_at": now, "available_at": now,
               "finished_at": None}  # fmt: skip
        for start in range(0, len(task_ids), ENQUEUE_CHUNK):
            chunk = task_ids[start : start + ENQUEUE_CHUNK]
            with slices.writing(self._engine) as connection:
                connection.execute(insert(events), [dict(row, task_id=int(t)) for t in chunk])
        return len(task_ids)

    def _insert(self, *, now: datetime, status: str, **values: Any) -> int:
        if values["source"] not in SOURCES:
            raise ValueError(f"event source must be one of {SOURCES}, not {values['source']!r}")
        finished = now if status == IGNORED else None
        row = dict(values, status=status, attempts=0, received_at=now, available_at=now, finished_at=finished)
        with self._engine.begin() as connection:
            return int(connection.execute(insert(events).values(**row).returning(events.c.id)).scalar_one())

    def claim(
        self,
        owner: str,
        now: datetime,
        *,
        lease: timedelta,
        max_tasks: int = 16,
        quiet: claims.QuietWindow = claims.NO_WAIT,
    ) -> list[Claim]:
        """Lease up to `max_tasks` tasks that have claimable events; see `slices.claim`, done in
        short write transactions (`slices.claim`)."""
        return slices.claim(self._engine, owner, now, lease, max_tasks, quiet, self._portal)

    def complete(self, claim: Claim, now: datetime) -> bool:
        """The evaluation succeeded: its events are done. False if the lease was lost meanwhile."""
        return self._finish(claim, status=DONE, finished_at=now)

    def complete_many(self, done: Sequence[Claim], now: datetime) -> int:
        """`complete` for a round's claims, a few set-wise statements per ~200 events (`slices.complete`);
        how many were still held."""
        return slices.complete(self._engine, done, {"status": DONE, "finished_at": now})

    def retry(self, claim: Claim, now: datetime, *, error: str, delay: timedelta) -> bool:
        """The evaluation failed transiently: count an attempt, make the events claimable at now+delay."""
        return self._finish(
            claim,
            status=PENDING,
            attempts=events.c.attempts + 1,
            available_at=now + delay,
            last_error=_cut(error),
        )

    def dead_letter(self, claim: Claim, now: datetime, *, error: str) -> bool:
        """The evaluation failed for good: the events wait in `dead` for a replay."""
        return self._finish(
            claim, status=DEAD, attempts=events.c.attempts + 1, finished_at=now, last_error=_cut(error)
        )

    def release(self, claim: Claim) -> bool:
        """Give the task back untouched (graceful shutdown): pending again, no attempt counted."""
        return self._finish(claim, status=PENDING)

    def _finish(self, claim: Claim, **values: Any) -> bool:
        with self._engine.begin() as connection:
            return claims.finish(connection, claim, values)

    def heartbeat(self, claims_held: Sequence[Claim], now: datetime, lease: timedelta) -> list[Claim]:
        """Extend the leases; return the claims still held, with their new expiry (a missing one was lost)."""
        with self._engine.begin() as connection:
            return claims.extend(connection, claims_held, now + lease)

    def replay(self, event_ids: Sequence[int] | None = None, *, failed: bool = False, now: datetime) -> int:
        """Put finished events back to pending with a fresh attempt count; return how many.

        `event_ids` picks done, dead or ignored events by id (with `failed`, only the dead ones among
        them); `event_ids=None, failed=True` replays every dead letter. Pending and processing events
        are left alone. `last_error` is kept until the next failure overwrites it.
        """
        wanted = (DEAD,) if failed else (DONE, DEAD, IGNORED)
        if event_ids is None and not failed:
            raise ValueError("replay needs event ids or failed=True")
        conditions = [events.c.status.in_(wanted), *self._own()]
        if event_ids is not None:
            conditions.append(events.c.id.in_(list(event_ids)))
        values = {"status": PENDING, "attempts": 0, "available_at": now, "finished_at": None, "owner": None}
        with self._engine.begin() as connection:
            return connection.execute(update(events).where(*conditions).values(**values)).rowcount

    def set_aside(self, member_id: str, now: datetime, *, reason: str) -> int:
        """An uninstalled portal's waiting events will never run: finish them as ignored (pruned later)."""
        condition = (events.c.member_id == member_id) & (events.c.status == PENDING)
        values = {"status": IGNORED, "finished_at": now, "last_error": _cut(reason)}
        with self._engine.begin() as connection:
            return connection.execute(update(events).where(condition).values(**values)).rowcount

    def prune(self, now: datetime, *, done_older_than: timedelta) -> int:
        """Delete done and ignored events finished before now - done_older_than; dead letters stay."""
        cutoff = now - done_older_than
        condition = events.c.status.in_((DONE, IGNORED)) & (events.c.finished_at < cutoff)
        with self._engine.begin() as connection:
            return connection.execute(events.delete().where(condition)).rowcount

    def stats(self, now: datetime) -> QueueStats:
        """Queue depth and the oldest waiting event's age. The status page, /readyz and /metrics ask on
        every request, so the cost must grow with the queue, not the history (bench/ui): on SQLite the
        index `events_claimable` (status, …, and the row id every entry carries) answers both counts and
        the lowest pending id, then one row is read; no received_at of every waiting row."""
        queued = events.c.status.in_((PENDING, PROCESSING, DEAD))
        counted = select(events.c.status, func.count()).where(queued).group_by(events.c.status)
        # `id + 0`: not the primary key's order, which PostgreSQL would walk from the oldest (done) event
        # to the first pending one — through the whole retained history when the queue is recent. So the
        # status index finds the pending rows, and only they are read (SQLite: from the index alone).
        first_pending = select(func.min(events.c.id + 0)).where(events.c.status == PENDING)
        # member_id is not in the index: an installed portal's counts read the queue's rows (not history)
        counted, first_pending = counted.where(*self._own()), first_pending.where(*self._own())
        # Ids grow with the time an event was received, so the lowest pending id is the oldest waiting.
        oldest = select(events.c.received_at).where(events.c.id == first_pending.scalar_subquery())
        with reading(self._engine) as connection:
            counts = {str(status): int(n) for status, n in connection.execute(counted)}
            oldest_pending = connection.scalar(oldest)
        age = max((now - oldest_pending).total_seconds(), 0.0) if oldest_pending else 0.0
        return QueueStats(
            pending=counts.get(PENDING, 0),
            processing=counts.get(PROCESSING, 0),
            dead=counts.get(DEAD, 0),
            oldest_pending_age_seconds=age,
        )

    def open_tasks(self, task_ids: Sequence[int]) -> set[int]:
        """Those of `task_ids` with an event still to be evaluated (pending or processing)."""
        if not task_ids:
            return set()
        query = select(events.c.task_id).where(
            events.c.task_id.in_(list(task_ids)), events.c.status.in_((PENDING, PROCESSING))
        )
        query = query.where(*self._own())
        with reading(self._engine) as connection:
            return {int(task_id) for task_id in connection.scalars(query.distinct())}

    def get(self, event_id: int) -> EventRecord | None:
        """The event with this id (of this journal's portal, when it has one)."""
        with reading(self._engine) as connection:
            row = connection.execute(select(events).where(events.c.id == event_id, *self._own())).first()
        return None if row is None else EventRecord.from_row(row)

    def newest_dead(self, limit: int) -> list[EventRecord]:
        """The dead letters that died last, newest first: a backward walk of the index `events_finished`
        (status, finished_at) that stops after `limit` rows, however many dead letters there are."""
        query = select(events).where(events.c.status == DEAD, *self._own())
        query = query.order_by(events.c.finished_at.desc(), events.c.id.desc()).limit(limit)
        with reading(self._engine) as connection:
            return [EventRecord.from_row(row) for row in connection.execute(query)]

    def find(
        self, status: str | None = None, *, task_id: int | None = None, limit: int = 100
    ) -> list[EventRecord]:
        """Events newest first, optionally of one status and/or one task (of this journal's portal)."""
        query = select(events).where(*self._own()).order_by(events.c.id.desc()).limit(limit)
        if status is not None:
            query = query.where(events.c.status == status)
        if task_id is not None:
            query = query.where(events.c.task_id == task_id)
        with reading(self._engine) as connection:
            return [EventRecord.from_row(row) for row in connection.execute(query)]

    def _own(self) -> tuple[Any, ...]:
        """This journal's events: an installed portal's by member id (as claims count them), or all."""
        return (events.c.member_id == self._portal,) if self._portal else ()


def _event_row(event: TaskEvent, status: str) -> EventRow:
    if status not in (PENDING, IGNORED):
        raise ValueError(f"an event is appended as pending or ignored, not {status!r}")
    return (event.name, event.task_id, event.ts, event.handler_id, event.domain, event.member_id, status)


def _cut(error: str) -> str:
    return error if len(error) <= MAX_ERROR_CHARS else error[: MAX_ERROR_CHARS - 1] + "…"
