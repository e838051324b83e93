"""Leasing tasks for evaluation: claim a task's events under one lease, then finish or extend it.

A claim takes a row in `task_leases` per task with one atomic upsert for the whole round that takes
a row only when the task has no lease or an expired one (`INSERT … ON CONFLICT DO UPDATE … WHERE
expires_at <= now RETURNING`, SQLite ≥ 3.35 and PostgreSQL), then moves the claimable events of the
tasks it got to `processing` with one UPDATE (`leasing.py`). Claimable
means pending and due, or `processing` under a lease that expired — a worker that died mid-evaluation;
such events count one attempt, so an event that kills its worker every time ends up dead-lettered
instead of looping forever.

Every write checks the owner, so a worker whose lease expired and was taken over changes nothing:
`finish` returns False. That worker may still have acted on Bitrix24 meanwhile, which is why leases
are heartbeated and actions are idempotent.

PostgreSQL concurrency: a claimer first tries a transaction-scoped advisory lock per task and skips
tasks another claimer is taking right now (the SKIP LOCKED idea, for rows that may not exist yet).
Advisory locks are database-wide, so the lock is keyed by the installation's schema as well as the
task (`installation_lock_space`): installations sharing one database never block each other.
Lease rows are locked before event rows, and several lease rows in ascending task id order, by claim
and heartbeat alike, so these transactions cannot deadlock one another.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, and_, func, or_, select, text, update

from service.store import leasing
from service.store.db import installation_lock_space, is_sqlite
from service.store.eventlog import PROCESSING, EventRecord, events, task_leases
from service.store.leasing import LEASE_LOST as LEASE_LOST  # where callers have always found it

CANDIDATES_PER_TASK = 4  # look further than max_tasks: other claimers may be taking the first ones
_CLAIM_LOCKS = "b24rules.claim"  # the advisory lock space of task claims (see installation_lock_space)


@dataclass(frozen=True)
class Claim:
    """One task leased to one worker, with the events that evaluation covers."""

    task_id: int
    event_ids: tuple[int, ...]
    names: tuple[str, ...]  # distinct event names, the latest last
    sources: tuple[str, ...]  # distinct sources (event, sweep, replay), the latest last
    latest: EventRecord
    attempts: int  # failed evaluations so far: the most of any claimed event
    owner: str
    lease_expires_at: datetime
    first_received_at: datetime  # when the oldest claimed event arrived (the self-echo guard needs it)
    portal: str = ""  # whose task: an installed portal's member id, '' for the webhook portal

    @property
    def cause(self) -> str:
        """For the audit log: `event:12,13`, or `sweep` / `replay` when no portal event is among them."""
        if "event" in self.sources:
            return "event:" + ",".join(str(event_id) for event_id in self.event_ids)
        return self.sources[-1]


@dataclass(frozen=True)
class QuietWindow:
    """When a task with fresh events is ripe for a claim: once no event came for `quiet`, or once its
    oldest waiting event is `patience` old (a task that never goes quiet is still evaluated).

    A burst of events for one task then lands in one claim instead of one evaluation per trickle.
    A retry (an event with attempts) is not held back again: it already waited for its backoff.
    While no more than `idle` events of the portal arrived within the last `quiet`, nothing is piling
    up and nothing is held back: a lone event is claimed at once (a user who logs a 0-second entry sees
    it go). Arrivals, not waiting events, because a worker that keeps up with a steady trickle never
    lets events wait, and claiming each at once would read a task per event.
    """

    quiet: timedelta = timedelta(0)
    patience: timedelta = timedelta(0)
    idle: int = 0


NO_WAIT = QuietWindow()


def take_tasks(
    connection: Connection,
    portal: str,
    task_ids: Sequence[int],
    owner: str,
    now: datetime,
    expires_at: datetime,
) -> list[Claim]:
    """Lease these tasks (the caller try-locked them, `try_lock`) with one upsert and move their claimable
    events to `processing` with one UPDATE (`leasing.py`); in task id order. A task another worker
    holds is skipped; one whose events another worker finished since it was found gives its lease back."""
    taken = leasing.take_leases(connection, portal, task_ids, owner, now, expires_at)
    records = leasing.take_events(connection, portal, taken, owner, now)
    leasing.drop_leases(connection, portal, [task_id for task_id in taken if task_id not in records], owner)
    return [_claim(portal, task_id, records[task_id], owner, expires_at) for task_id in sorted(records)]


def finish(connection: Connection, claim: Claim, values: dict[str, Any]) -> bool:
    """Free the lease and set `values` on the claimed events; False if the lease is no longer ours."""
    if not _drop_lease(connection, claim.portal, claim.task_id, claim.owner):
        return False
    connection.execute(
        update(events)
        .where(
            events.c.id.in_(claim.event_ids),
            events.c.owner == claim.owner,
            events.c.status == PROCESSING,
        )
        .values(owner=None, **values)
    )
    return True


def finish_many(connection: Connection, done: Sequence[Claim], values: dict[str, Any]) -> int:
    """`finish` for many claims with a few set-wise statements per (portal, owner) instead of two per
    claim; returns how many leases were still held (the others' events are left alone)."""
    held = 0
    groups: dict[tuple[str, str], list[Claim]] = {}
    for claim in done:
        groups.setdefault((claim.portal, claim.owner), []).append(claim)
    for (portal, owner), group in groups.items():
        mine = and_(
            task_leases.c.portal == portal,
            task_leases.c.owner == owner,
            task_leases.c.task_id.in_(sorted({claim.task_id for claim in group})),
        )
        if not is_sqlite(connection):  # lock the lease rows in task id order, as claims and heartbeats do
            connection.execute(
                select(task_leases.c.task_id).where(mine).order_by(task_leases.c.task_id).with_for_update()
            )
        kept = set(connection.scalars(task_leases.delete().where(mine).returning(task_leases.c.task_id)))
        event_ids = sorted(
            event_id for claim in group if claim.task_id in kept for event_id in claim.event_ids
        )
        if event_ids:
            connection.execute(
                update(events)
                .where(events.c.id.in_(event_ids), events.c.owner == owner, events.c.status == PROCESSING)
                .values(owner=None, **values)
            )
        held += len(kept)
    return held


def extend(connection: Connection, claims: Sequence[Claim], expires_at: datetime) -> list[Claim]:
    """Move the leases' expiry to `expires_at`; return the claims that were still held."""
    held: list[Claim] = []
    for claim in sorted(claims, key=lambda claim: claim.task_id):
        renewed = connection.execute(
            update(task_leases)
            .where(
                task_leases.c.portal == claim.portal,
                task_leases.c.task_id == claim.task_id,
                task_leases.c.owner == claim.owner,
            )
            .values(expires_at=expires_at)
        ).rowcount
        if renewed:
            held.append(replace(claim, lease_expires_at=expires_at))
    return held


def candidates(
    connection: Connection, now: datetime, limit: int, quiet: QuietWindow, portal: str
) -> list[int]:
    """Tasks with claimable events, ripe under `quiet`, oldest first. Only reads: `take_tasks` checks
    again."""
    leases = task_leases
    lease_of = and_(leases.c.portal == portal, leases.c.task_id == events.c.task_id)
    query = (
        select(events.c.task_id)
        .select_from(events.outerjoin(leases, lease_of))
        .where(leasing.claimable(now, portal or None))
        .where(or_(leases.c.task_id.is_(None), leases.c.expires_at <= now))
        .group_by(events.c.task_id)
        .order_by(func.min(events.c.id))
        .limit(limit)
    )
    if quiet.quiet > timedelta(0) and not _idle(connection, now, quiet, portal):
        query = query.having(
            or_(
                func.max(events.c.received_at) <= now - quiet.quiet,
                func.min(events.c.received_at) <= now - quiet.patience,
                func.max(events.c.attempts) > 0,
            )
        )
    return [int(task_id) for task_id in connection.scalars(query)]


def _idle(connection: Connection, now: datetime, quiet: QuietWindow, portal: str) -> bool:
    """Whether at most `quiet.idle` of the portal's events arrived within the last `quiet.quiet`: read
    from the newest rows by id (the primary key), so a poll costs a few rows, not a count."""
    if quiet.idle <= 0:
        return False
    newest = select(events.c.received_at).order_by(events.c.id.desc()).limit(quiet.idle + 1)
    if portal:
        newest = newest.where(events.c.member_id == portal)
    recent = [at for at in connection.scalars(newest) if at > now - quiet.quiet]
    return len(recent) <= quiet.idle


def try_lock(connection: Connection, portal: str, task_id: int) -> bool:
    if is_sqlite(connection):
        return True  # BEGIN IMMEDIATE: this transaction is the only writer
    key = task_id % 2_147_483_647  # a collision only makes a claimer skip a task this round
    sql = text(f"SELECT pg_try_advisory_xact_lock({installation_lock_space(':space')}, :key)")
    # Task ids are per portal: the portal is part of the lock space, like the schema.
    return bool(connection.scalar(sql, {"space": f"{_CLAIM_LOCKS}:{portal}", "key": key}))


def _drop_lease(connection: Connection, portal: str, task_id: int, owner: str) -> bool:
    condition = and_(
        task_leases.c.portal == portal, task_leases.c.task_id == task_id, task_leases.c.owner == owner
    )
    return bool(connection.execute(task_leases.delete().where(condition)).rowcount)


def _claim(portal: str, task_id: int, records: list[EventRecord], owner: str, expires_at: datetime) -> Claim:
    return Claim(
        portal=portal,
        task_id=task_id,
        event_ids=tuple(record.id for record in records),
        names=_distinct_latest_last(record.name for record in records),
        sources=_distinct_latest_last(record.source for record in records),
        latest=records[-1],
        attempts=max(record.attempts for record in records),
        owner=owner,
        lease_expires_at=expires_at,
        first_received_at=min(record.received_at for record in records),
    )


def _distinct_latest_last(values: Iterable[str]) -> tuple[str, ...]:
    order: dict[str, None] = {}
    for value in values:
        order.pop(value, None)
        order[value] = None
    return tuple(order)
