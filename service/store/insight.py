"""Read-only views of the journal and the audit log for the status page: counts per hour and per rule,
the last event, and filtered, paged event listings.

Every listing is bounded by an index (see the indexes of schema version 4) and a LIMIT, so it costs the
same with 100 or 100,000 audit rows; the 24-hour counts read only that window's index entries (a range of
a covering index, never the table), so they grow with the day's traffic, not the history (bench/ui).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, Connection, Engine, select

from service.store.audit import audit_log
from service.store.db import reading
from service.store.eventlog import EventRecord, events
from service.store.hourly import HourlyCounts, first_id_since
from service.store.sweeps import sweep_state

# A rule filter on events looks at the tasks of the rule's most recent decisions, not its whole history.
RULE_TASKS_LOOKED_AT = 200


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
    """What the status page reads; `portal` (an installed portal's member id) narrows every view to that
    portal's events, decisions and sweeps ('' = everything: webhook mode's one portal)."""

    def __init__(self, engine: Engine, portal: str = "") -> None:
        self._engine = engine
        self._portal = portal
        # remembers settled hours: build one Insight per portal and process
        self._hourly = HourlyCounts(engine, portal)

    def last_event_at(self) -> datetime | None:
        """When the portal last posted an event (sweeps and replays are not the portal)."""
        statement = select(events.c.received_at).where(events.c.source == "event")
        if self._portal:
            statement = statement.where(events.c.member_id == self._portal)
        statement = statement.order_by(events.c.id.desc()).limit(1)
        with reading(self._engine) as connection:
            value = connection.scalar(statement)
        return value if isinstance(value, datetime) else None

    def window(self, now: datetime, hours: int = 24) -> Window:
        """The last `hours` whole hours (the current one included): events received, entries deleted, and
        every decision per rule and outcome."""
        first = now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=hours - 1)
        tallies = self._hourly.hours(first, now)
        hits: dict[str, dict[str, int]] = {}
        for tally in tallies.values():
            for (rule, outcome), count in tally.decisions.items():
                per_rule = hits.setdefault(rule, {})
                per_rule[outcome] = per_rule.get(outcome, 0) + count
        counts = [HourCounts(at, tally.events, tally.deletions) for at, tally in tallies.items()]
        return Window(first, counts, dict(sorted(hits.items())))

    def sweeps(self) -> list[SweepStatus]:
        """Every named sweep's state (one row each): who leads it and how far it got."""
        statement = select(sweep_state).order_by(sweep_state.c.name)
        if self._portal:  # an installed portal's sweep is named "<what>@<member id>"
            statement = statement.where(sweep_state.c.name.endswith(f"@{self._portal}", autoescape=True))
        with reading(self._engine) as connection:
            rows = connection.execute(statement).all()
        return [SweepStatus(**{c.name: row._mapping[c] for c in sweep_state.columns}) for row in rows]

    def events(self, wanted: EventFilter, limit: int = 50) -> list[EventRecord]:
        """Events newest first, filtered; page with `before`."""
        statement = select(events).order_by(events.c.id.desc()).limit(limit)
        for condition in _event_conditions(wanted):
            statement = statement.where(condition)
        if self._portal:
            statement = statement.where(events.c.member_id == self._portal)
        with reading(self._engine) as connection:
            # received_at has no index (it would slow the event endpoint's writes): bound the ids instead.
            if wanted.since is not None:
                statement = statement.where(events.c.id >= first_id_since(connection, wanted.since))
            if wanted.until is not None:
                statement = statement.where(events.c.id < first_id_since(connection, wanted.until) + 1)
            if wanted.rule is not None:
                decided = _tasks_decided(connection, wanted, self._portal)
                statement = statement.where(events.c.task_id.in_(decided))
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


def _tasks_decided(connection: Connection, wanted: EventFilter, portal: str) -> list[int]:
    """The tasks among the rule's last RULE_TASKS_LOOKED_AT decisions (index audit_by_rule_id)."""
    statement = select(audit_log.c.task_id).where(audit_log.c.rule == wanted.rule)
    if portal:
        statement = statement.where(audit_log.c.portal == portal)
    if wanted.since is not None:
        statement = statement.where(audit_log.c.created_at >= wanted.since)
    statement = statement.order_by(audit_log.c.id.desc()).limit(RULE_TASKS_LOOKED_AT)
    return list(dict.fromkeys(int(task_id) for task_id in connection.scalars(statement)))
