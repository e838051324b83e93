"""Read-only views of the journal and the audit log for the status page: counts per hour and per rule,
the last event, and filtered, paged event listings.

Every query here is bounded by an index (see the indexes of schema version 3) and a LIMIT, so a page
costs the same with 100 or 100,000 audit rows (measured in bench/ui).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Engine, String, func, select

from service.store.audit import audit_log
from service.store.db import reading
from service.store.eventlog import EventRecord, events
from service.store.sweeps import sweep_state

HOUR_KEY_FORMAT = "%Y-%m-%d %H"  # what `_hour_key` yields on both engines


@dataclass(frozen=True)
class HourCounts:
    start: datetime
    events: int
    deletions: int


@dataclass(frozen=True)
class EventFilter:
    """What the Activity page asks for; every field is optional."""

    task_id: int | None = None
    status: str | None = None
    source: str | None = None
    rule: str | None = None  # events of tasks this rule decided on within the window
    since: datetime | None = None
    until: datetime | None = None
    before: int | None = None  # page: ids below this one


class Insight:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def last_event_at(self) -> datetime | None:
        """When the portal last posted an event (sweeps and replays are not the portal)."""
        statement = select(events.c.received_at).where(events.c.source == "event")
        statement = statement.order_by(events.c.id.desc()).limit(1)
        with reading(self._engine) as connection:
            value = connection.scalar(statement)
        return value if isinstance(value, datetime) else None

    def hourly(self, now: datetime, hours: int = 24) -> list[HourCounts]:
        """Events received and entries deleted in each of the last `hours` whole hours (oldest first)."""
        first = now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=hours - 1)
        with reading(self._engine) as connection:
            received = self._per_hour(connection, events.c.received_at, first, ())
            deleted = self._per_hour(
                connection, audit_log.c.created_at, first, (audit_log.c.outcome == "deleted",)
            )
        starts = [first + timedelta(hours=i) for i in range(hours)]
        return [
            HourCounts(start, received.get(key, 0), deleted.get(key, 0))
            for start in starts
            for key in [start.strftime(HOUR_KEY_FORMAT)]
        ]

    def _per_hour(
        self, connection: Any, column: Any, since: datetime, conditions: tuple[ColumnElement[bool], ...]
    ) -> dict[str, int]:
        key = _hour_key(column, connection.dialect.name)
        statement = select(key, func.count()).where(column >= since, *conditions).group_by(key)
        return {str(hour): int(count) for hour, count in connection.execute(statement)}

    def rule_hits(self, since: datetime) -> dict[str, dict[str, int]]:
        """rule → outcome → decisions recorded since `since` (read from the `audit_hits` index alone)."""
        statement = (
            select(audit_log.c.rule, audit_log.c.outcome, func.count())
            .where(audit_log.c.created_at >= since)
            .group_by(audit_log.c.rule, audit_log.c.outcome)
        )
        hits: dict[str, dict[str, int]] = {}
        with reading(self._engine) as connection:
            for rule, outcome, count in connection.execute(statement):
                hits.setdefault(str(rule), {})[str(outcome)] = int(count)
        return dict(sorted(hits.items()))

    def sweeps(self) -> list[SweepStatus]:
        return sweep_statuses(self._engine)

    def events(self, wanted: EventFilter, limit: int = 50) -> list[EventRecord]:
        """Events newest first, filtered; page with `before`."""
        statement = select(events).order_by(events.c.id.desc()).limit(limit)
        for condition in _event_conditions(wanted):
            statement = statement.where(condition)
        with reading(self._engine) as connection:
            return [EventRecord.from_row(row) for row in connection.execute(statement)]


def _event_conditions(wanted: EventFilter) -> list[ColumnElement[bool]]:
    found: list[ColumnElement[bool]] = []
    if wanted.task_id is not None:
        found.append(events.c.task_id == wanted.task_id)
    if wanted.status is not None:
        found.append(events.c.status == wanted.status)
    if wanted.source is not None:
        found.append(events.c.source == wanted.source)
    if wanted.since is not None:
        found.append(events.c.received_at >= wanted.since)
    if wanted.until is not None:
        found.append(events.c.received_at < wanted.until)
    if wanted.before is not None:
        found.append(events.c.id < wanted.before)
    if wanted.rule is not None:
        decided = select(audit_log.c.task_id).where(audit_log.c.rule == wanted.rule)
        if wanted.since is not None:
            decided = decided.where(audit_log.c.created_at >= wanted.since)
        found.append(events.c.task_id.in_(decided.distinct()))
    return found


def _hour_key(column: Any, dialect: str) -> ColumnElement[str]:
    """The hour a stored time falls in, as 'YYYY-MM-DD HH' (UTC) text on either engine."""
    if dialect == "sqlite":
        # SQLite stores UTC as 'YYYY-MM-DD HH:MM:SS…' text (db.UtcDateTime): the first 13 characters.
        return func.substr(column, 1, 13, type_=String)
    return func.to_char(func.timezone("UTC", column), "YYYY-MM-DD HH24", type_=String)


@dataclass(frozen=True)
class SweepStatus:
    name: str
    owner: str | None
    lease_expires_at: datetime | None
    watermark: datetime | None
    entry_watermark: int | None
    advanced_at: datetime | None


def sweep_statuses(engine: Engine) -> list[SweepStatus]:
    """Every named sweep's state (one row each): who leads it and how far it got."""
    with reading(engine) as connection:
        rows = connection.execute(select(sweep_state).order_by(sweep_state.c.name)).all()
    return [SweepStatus(**{c.name: row._mapping[c] for c in sweep_state.columns}) for row in rows]
