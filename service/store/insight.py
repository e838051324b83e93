"""Read-only views of the journal and the audit log for the status page: counts per hour and per rule,
the last event, and filtered, paged event listings.

Every listing is bounded by an index (see the indexes of schema version 4) and a LIMIT, so it costs the
same with 100 or 100,000 audit rows; the 24-hour counts read only that window's index entries (a range of
a covering index, never the table), so they grow with the day's traffic, not the history (bench/ui).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Connection, Engine, String, func, select

from service.store.audit import audit_log
from service.store.db import reading
from service.store.eventlog import EventRecord, events
from service.store.sweeps import sweep_state

HOUR_KEY_FORMAT = "%Y-%m-%d %H"  # what `_hour_key` yields on both engines
# A rule filter on events looks at the tasks of the rule's most recent decisions, not its whole history.
RULE_TASKS_LOOKED_AT = 1000


@dataclass(frozen=True)
class HourCounts:
    start: datetime
    events: int
    deletions: int


@dataclass(frozen=True)
class Window:
    since: datetime
    hours: list[HourCounts]
    hits: dict[str, dict[str, int]]  # rule → outcome → decisions


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


@dataclass(frozen=True)
class SweepStatus:
    name: str
    owner: str | None
    lease_expires_at: datetime | None
    watermark: datetime | None
    entry_watermark: int | None
    advanced_at: datetime | None


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

    def window(self, now: datetime, hours: int = 24) -> Window:
        """The last `hours` whole hours (the current one included): events received, entries deleted, and
        every decision per rule and outcome."""
        first = now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=hours - 1)
        with reading(self._engine) as connection:
            received = _per_hour(connection, events.c.received_at, first)
            decided = _decisions(connection, first)
        deleted: dict[str, int] = {}
        hits: dict[str, dict[str, int]] = {}
        for (hour, rule, outcome), count in decided.items():
            if outcome == "deleted":
                deleted[hour] = deleted.get(hour, 0) + count
            per_rule = hits.setdefault(rule, {})
            per_rule[outcome] = per_rule.get(outcome, 0) + count
        starts = [first + timedelta(hours=i) for i in range(hours)]
        counts = [HourCounts(at, received.get(_key(at), 0), deleted.get(_key(at), 0)) for at in starts]
        return Window(first, counts, dict(sorted(hits.items())))

    def sweeps(self) -> list[SweepStatus]:
        """Every named sweep's state (one row each): who leads it and how far it got."""
        with reading(self._engine) as connection:
            rows = connection.execute(select(sweep_state).order_by(sweep_state.c.name)).all()
        return [SweepStatus(**{c.name: row._mapping[c] for c in sweep_state.columns}) for row in rows]

    def events(self, wanted: EventFilter, limit: int = 50) -> list[EventRecord]:
        """Events newest first, filtered; page with `before`."""
        statement = select(events).order_by(events.c.id.desc()).limit(limit)
        for condition in _event_conditions(wanted):
            statement = statement.where(condition)
        with reading(self._engine) as connection:
            if wanted.rule is not None:
                statement = statement.where(events.c.task_id.in_(_tasks_decided(connection, wanted)))
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
    return found


def _tasks_decided(connection: Connection, wanted: EventFilter) -> list[int]:
    """The tasks among the rule's last RULE_TASKS_LOOKED_AT decisions (index audit_by_rule_id)."""
    statement = select(audit_log.c.task_id).where(audit_log.c.rule == wanted.rule)
    if wanted.since is not None:
        statement = statement.where(audit_log.c.created_at >= wanted.since)
    statement = statement.order_by(audit_log.c.id.desc()).limit(RULE_TASKS_LOOKED_AT)
    return list(dict.fromkeys(int(task_id) for task_id in connection.scalars(statement)))


def _key(hour: datetime) -> str:
    return hour.strftime(HOUR_KEY_FORMAT)


def _per_hour(connection: Connection, column: Any, since: datetime) -> dict[str, int]:
    key = _hour_key(column, connection.dialect.name)
    statement = select(key, func.count()).where(column >= since).group_by(key)
    return {str(hour): int(count) for hour, count in connection.execute(statement)}


def _decisions(connection: Connection, since: datetime) -> dict[tuple[str, str, str], int]:
    """(hour, rule, outcome) → decisions since `since`, from the covering index `audit_hits` alone (no
    equality on outcome: it would steer SQLite to the outcome index and every deleted row of history)."""
    created = audit_log.c.created_at
    key = _hour_key(created, connection.dialect.name)
    statement = (
        select(key, audit_log.c.rule, audit_log.c.outcome, func.count())
        .where(created >= since)
        .group_by(key, audit_log.c.rule, audit_log.c.outcome)
    )
    return {(str(h), str(r), str(o)): int(n) for h, r, o, n in connection.execute(statement)}


def _hour_key(column: Any, dialect: str) -> ColumnElement[str]:
    """The hour a stored time falls in, as 'YYYY-MM-DD HH' (UTC) text on either engine."""
    if dialect == "sqlite":
        # SQLite stores UTC as 'YYYY-MM-DD HH:MM:SS…' text (db.UtcDateTime): the first 13 characters.
        return func.substr(column, 1, 13, type_=String)
    return func.to_char(func.timezone("UTC", column), "YYYY-MM-DD HH24", type_=String)
