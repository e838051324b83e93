"""Counts per hour for the status page's last 24 hours: events received, and decisions per rule and outcome.

Counting a busy day means reading every index entry of that day, so hours that are over are counted once
and remembered by this process: a later Overview counts only the hours not yet settled (the current one,
and the previous one for a few minutes while its last deletions get their outcome). Received times and
decision times never change afterwards, so a settled hour's counts stay true.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Connection, Engine, String, func, select

from service.store.audit import audit_log
from service.store.db import reading
from service.store.eventlog import events

HOUR = timedelta(hours=1)
# A decision is written as `pending` and becomes `deleted` when the portal answers: seconds later, a few
# minutes at most with retries. An hour is remembered only once that much time has passed after it.
SETTLE = timedelta(minutes=5)
HOUR_KEY_FORMAT = "%Y-%m-%d %H"  # what `_hour_key` yields on both engines


@dataclass
class HourTally:
    events: int = 0
    decisions: dict[tuple[str, str], int] = field(default_factory=dict)  # (rule, outcome) → count

    @property
    def deletions(self) -> int:
        return sum(count for (_, outcome), count in self.decisions.items() if outcome == "deleted")


class HourlyCounts:
    """One per process (built by the composition root with the status page's parts)."""

    def __init__(self, engine: Engine, portal: str = "") -> None:
        self._engine = engine
        self._portal = portal  # an installed portal's member id: its events and decisions only
        self._settled: dict[datetime, HourTally] = {}
        # hour start → the first event id received in it, once the hour began SETTLE ago: later events
        # only get higher ids, so the bisection of the primary key is done once per hour, not per request.
        self._first_ids: dict[datetime, int] = {}
        self._lock = threading.Lock()

    def hours(self, first: datetime, now: datetime) -> dict[datetime, HourTally]:
        """A tally for each hour from `first` (an hour's start) to the one holding `now`."""
        starts = [first + HOUR * i for i in range(int((now - first) / HOUR) + 1)]
        with self._lock:
            known = {start: self._settled[start] for start in starts if start in self._settled}
        missing = [start for start in starts if start not in known]
        if missing:
            counted = self._count(missing[0], now)
            fresh = {start: counted.get(start, HourTally()) for start in missing}
            with self._lock:
                self._settled = {s: t for s, t in self._settled.items() if s >= first}
                self._settled.update({s: t for s, t in fresh.items() if s + HOUR + SETTLE <= now})
            known.update(fresh)
        return {start: known[start] for start in starts}

    def _count(self, since: datetime, now: datetime) -> dict[datetime, HourTally]:
        tallies: dict[datetime, HourTally] = {}
        with reading(self._engine) as connection:
            first_id = self._first_id(connection, since, now)
            for hour, count in _per_hour(connection, since, first_id, self._portal):
                tallies.setdefault(hour, HourTally()).events = count
            for hour, rule, outcome, count in _decisions(connection, since, self._portal):
                tallies.setdefault(hour, HourTally()).decisions[(rule, outcome)] = count
        return tallies

    def _first_id(self, connection: Connection, since: datetime, now: datetime) -> int:
        with self._lock:
            known = self._first_ids.get(since)
        if known is not None:
            return known
        found = first_id_since(connection, since)
        if since + SETTLE <= now:
            with self._lock:
                self._first_ids = {s: i for s, i in self._first_ids.items() if s >= since - HOUR}
                self._first_ids[since] = found
        return found


def _per_hour(
    connection: Connection, since: datetime, first_id: int, portal: str
) -> list[tuple[datetime, int]]:
    """Events received per hour since `since`: the rows from the first id received then (a range of the
    primary key). The events table gets no index of ours: every index is one more write on the event
    endpoint's path."""
    key = _hour_key(events.c.received_at, connection.dialect.name)
    statement = select(key, func.count()).where(events.c.id >= first_id)
    statement = statement.where(events.c.received_at >= since).group_by(key)
    if portal:
        statement = statement.where(events.c.member_id == portal)
    return [(_start(hour, since), int(count)) for hour, count in connection.execute(statement)]


def first_id_since(connection: Connection, moment: datetime) -> int:
    """The lowest event id received at or after `moment` (one past the last id when none), found by
    bisecting the primary key: ids grow with the time they were received (within the few milliseconds
    two web processes' commits may interleave; the caller still filters on received_at)."""
    last = connection.scalar(select(func.max(events.c.id))) or 0
    low, high = 0, int(last) + 1  # the answer is in (low, high]
    while high - low > 1:
        middle = (low + high) // 2
        probe = select(events.c.id, events.c.received_at).where(events.c.id >= middle)
        row = connection.execute(probe.order_by(events.c.id).limit(1)).first()
        if row is None or row.received_at >= moment:
            high = middle
        else:
            low = int(row.id)
    return high


def _decisions(connection: Connection, since: datetime, portal: str) -> list[tuple[datetime, str, str, int]]:
    """Decisions per hour, rule and outcome since `since`, from the covering index `audit_hits` alone (no
    equality on outcome: it would steer SQLite to the outcome index and every deleted row of history).
    One installed portal's decisions need the day's rows too (the portal is not in that index)."""
    created = audit_log.c.created_at
    key = _hour_key(created, connection.dialect.name)
    statement = (
        select(key, audit_log.c.rule, audit_log.c.outcome, func.count())
        .where(created >= since)
        .group_by(key, audit_log.c.rule, audit_log.c.outcome)
    )
    if portal:
        statement = statement.where(audit_log.c.portal == portal)
    return [(_start(h, since), str(r), str(o), int(n)) for h, r, o, n in connection.execute(statement)]


def _start(key: object, like: datetime) -> datetime:
    return datetime.strptime(str(key), HOUR_KEY_FORMAT).replace(tzinfo=like.tzinfo)


def _hour_key(column: Any, dialect: str) -> ColumnElement[str]:
    """The hour a stored time falls in, as 'YYYY-MM-DD HH' (UTC) text on either engine."""
    if dialect == "sqlite":
        # SQLite stores UTC as 'YYYY-MM-DD HH:MM:SS…' text (db.UtcDateTime): the first 13 characters.
        return func.substr(column, 1, 13, type_=String)
    return func.to_char(func.timezone("UTC", column), "YYYY-MM-DD HH24", type_=String)
