"""Wake-up marks of the offline poller: "the portal says its offline queue has new rows".

The web half sets a portal's mark when a verified ONOFFLINEEVENT arrives (one upsert, the same however
often it comes). The pollers of a process read every portal's mark in one query (`MarkBoard`, no REST
call) between their REST polls; a poller whose mark is set takes it (a conditional UPDATE: of several
pollers one wins) and pulls at once. A mark set while a pull runs is seen by the next read, so no notice
is lost. A portal without a row never sent a notice (installed before ONOFFLINEEVENT was bound, or our
URL does not reach us from there): its poller keeps the short REST interval.
https://apidocs.bitrix24.com/api-reference/events/on-offline-event.html
"""

from __future__ import annotations

import math
import threading
import time
from datetime import datetime

from sqlalchemy import Boolean, Column, Engine, String, Table, select, update

from service.store.db import UtcDateTime, metadata, reading, upsert

offline_wakeups = Table(
    "offline_wakeups",
    metadata,
    Column("portal", String(64), primary_key=True),  # the installed portal's member id
    Column("pending", Boolean, nullable=False),
    Column("marked_at", UtcDateTime(), nullable=False),  # the last notice (for people reading the table)
)


class Wakeups:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def mark(self, portal: str, now: datetime) -> None:
        """The portal has new offline rows: its poller should pull now. Idempotent."""
        values = {"pending": True, "marked_at": now}
        with self._engine.begin() as connection:
            statement = upsert(connection, offline_wakeups).values(portal=portal, **values)
            connection.execute(statement.on_conflict_do_update(index_elements=["portal"], set_=values))

    def clear(self, portal: str) -> bool:
        """Clear a set mark; True only for the caller that cleared it (of several pollers, one pulls)."""
        statement = (
            update(offline_wakeups)
            .where(offline_wakeups.c.portal == portal, offline_wakeups.c.pending.is_(True))
            .values(pending=False)
        )
        with self._engine.begin() as connection:
            return bool(connection.execute(statement).rowcount)

    def marks(self) -> dict[str, bool]:
        """Every portal that ever sent a notice → whether its mark is set: one read."""
        query = select(offline_wakeups.c.portal, offline_wakeups.c.pending)
        with reading(self._engine) as connection:
            return {str(portal): bool(pending) for portal, pending in connection.execute(query)}


class MarkBoard:
    """The marks of every portal, read once per `max_age` seconds for all of a process's pollers (one
    query whatever the number of portals, instead of one per portal per check)."""

    def __init__(self, wakeups: Wakeups, max_age: float) -> None:
        self._wakeups = wakeups
        self._max_age = max_age
        self._lock = threading.Lock()
        self._read_at = -math.inf
        self._marks: dict[str, bool] = {}

    def take(self, portal: str) -> bool | None:
        """True once per mark (the caller then pulls), False when none is set, None if the portal never
        sent a notice; answered from the shared read, only a set mark costs a write (`Wakeups.clear`)."""
        with self._lock:
            if time.monotonic() - self._read_at >= self._max_age:
                self._marks = self._wakeups.marks()
                self._read_at = time.monotonic()
            state = self._marks.get(portal)
            if state:
                self._marks[portal] = False  # taken (or lost to another process): not again until read
        return self._wakeups.clear(portal) if state else state
