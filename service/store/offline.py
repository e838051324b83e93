"""The offline inbox: events pulled with `event.offline.get`, stored once per portal message id.

`store` writes, in ONE transaction, a row per new MESSAGE_ID in `offline_messages` (its primary key
refuses a message seen before) and a pending journal event for each; it answers with every message id
that is now stored, new or already there, which is exactly what the poller may `event.offline.clear`.
A poller killed between get and clear gets the same reserved rows again (same process id) and stores
nothing twice. `offline_state` keeps each portal's process id, so a restart asks for its own reservation.
https://apidocs.bitrix24.com/api-reference/events/offline-events.html
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import BigInteger, Column, Engine, String, Table, insert, select

from service.store.db import UtcDateTime, metadata, upsert
from service.store.eventlog import PENDING, events

offline_messages = Table(
    "offline_messages",
    metadata,
    Column("portal", String(64), primary_key=True),
    Column("message_id", String(64), primary_key=True),
    Column("event_id", BigInteger, nullable=False),
    Column("received_at", UtcDateTime(), nullable=False),
)

offline_state = Table(
    "offline_state",
    metadata,
    Column("portal", String(64), primary_key=True),
    Column("process_id", String(64), nullable=False),
)


@dataclass(frozen=True)
class OfflineEvent:
    message_id: str
    name: str
    task_id: int
    domain: str


class OfflineInbox:
    def __init__(self, engine: Engine, portal: str) -> None:
        self._engine = engine
        self._portal = portal

    def process_id(self) -> str:
        """This portal's reservation name (made once, then kept: a restart asks for the same rows)."""
        with self._engine.begin() as connection:
            statement = upsert(connection, offline_state).values(
                portal=self._portal, process_id=secrets.token_hex(16)
            )
            connection.execute(statement.on_conflict_do_nothing(index_elements=[offline_state.c.portal]))
            query = select(offline_state.c.process_id).where(offline_state.c.portal == self._portal)
            return str(connection.scalar(query))

    def store(self, batch: Sequence[OfflineEvent], now: datetime) -> list[str]:
        """Journal the new ones as pending events; return every message id of `batch` now stored."""
        stored: list[str] = []
        with self._engine.begin() as connection:
            for event in batch:
                claim = upsert(connection, offline_messages).values(
                    portal=self._portal, message_id=event.message_id, event_id=0, received_at=now
                )
                claim = claim.on_conflict_do_nothing(
                    index_elements=[offline_messages.c.portal, offline_messages.c.message_id]
                )
                if connection.execute(claim.returning(offline_messages.c.message_id)).first() is not None:
                    event_id = connection.execute(insert(events).values(**_row(self._portal, event, now))
                                                  .returning(events.c.id)).scalar_one()  # fmt: skip
                    connection.execute(
                        offline_messages.update()
                        .where(
                            offline_messages.c.portal == self._portal,
                            offline_messages.c.message_id == event.message_id,
                        )
                        .values(event_id=event_id)
                    )
                stored.append(event.message_id)
        return stored

    def prune(self, now: datetime, *, older_than: timedelta = timedelta(days=31)) -> int:
        """Forget message ids older than the portal's 30-day reservation: they cannot come back."""
        condition = (offline_messages.c.portal == self._portal) & (
            offline_messages.c.received_at < now - older_than
        )
        with self._engine.begin() as connection:
            return int(connection.execute(offline_messages.delete().where(condition)).rowcount or 0)


def _row(portal: str, event: OfflineEvent, now: datetime) -> dict[str, object]:
    return {
        "name": event.name,
        "task_id": event.task_id,
        "ts": None,
        "handler_id": "offline",
        "domain": event.domain,
        "member_id": portal,
        "source": "event",
        "status": PENDING,
        "attempts": 0,
        "received_at": now,
        "available_at": now,
        "finished_at": None,
    }
