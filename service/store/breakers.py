"""Rules tripped to shadow mode by the circuit breaker; persisted so a restart does not re-arm them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Column, Engine, String, Table, Text, select

from service.store.db import UtcDateTime, metadata, reading, upsert

tripped_rules = Table(
    "tripped_rules",
    metadata,
    # The member id of an installed portal (application mode), '' for the webhook portal (version 3):
    # one portal's runaway rule trips only there.
    Column("portal", String(64), primary_key=True, server_default="", default=""),
    Column("rule", String(100), primary_key=True),
    Column("reason", Text, nullable=False),
    Column("tripped_at", UtcDateTime(), nullable=False),
)


@dataclass(frozen=True)
class TripRecord:
    rule: str
    reason: str
    tripped_at: datetime


class Breakers:
    """Trip, inspect and re-arm rules; every replica sees the same state."""

    def __init__(self, engine: Engine, portal: str = "") -> None:
        self._engine = engine
        self._portal = portal
        self._mine = tripped_rules.c.portal == portal

    def trip(self, rule: str, reason: str, now: datetime) -> bool:
        """Put `rule` in shadow mode; True only for the call that tripped it (tell Sentry once)."""
        with self._engine.begin() as connection:
            statement = upsert(connection, tripped_rules).values(
                portal=self._portal, rule=rule, reason=reason, tripped_at=now
            )
            keys = [tripped_rules.c.portal, tripped_rules.c.rule]
            statement = statement.on_conflict_do_nothing(index_elements=keys)
            return connection.execute(statement.returning(tripped_rules.c.rule)).first() is not None

    def is_tripped(self, rule: str) -> bool:
        with reading(self._engine) as connection:
            found = connection.scalar(
                select(tripped_rules.c.rule).where(self._mine, tripped_rules.c.rule == rule)
            )
        return found is not None

    def tripped(self) -> dict[str, TripRecord]:
        with reading(self._engine) as connection:
            rows = connection.execute(
                select(tripped_rules).where(self._mine).order_by(tripped_rules.c.rule)
            ).all()
        return {row.rule: TripRecord(row.rule, row.reason, row.tripped_at) for row in rows}

    def rearm(self, rule: str) -> bool:
        """Let `rule` act again; True if it was tripped."""
        with self._engine.begin() as connection:
            deleted = connection.execute(
                tripped_rules.delete().where(self._mine, tripped_rules.c.rule == rule)
            )
            return bool(deleted.rowcount)
