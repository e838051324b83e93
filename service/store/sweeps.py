"""State of the reconciliation sweeper: its watermark, and a lease so one replica sweeps at a time."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import BigInteger, Column, Engine, String, Table, or_, select, update

from service.store.db import UtcDateTime, metadata, reading, upsert

sweep_state = Table(
    "sweep_state",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("owner", String(128)),  # the leading sweeper, while its lease runs
    Column("lease_expires_at", UtcDateTime()),
    Column("watermark", UtcDateTime()),  # tasks changed after this are swept next
    Column("advanced_at", UtcDateTime()),
    # Time entries with a higher id are swept next (schema version 2): adding an entry changes no
    # task date, so the entries are followed by id, the only thing that only ever grows.
    Column("entry_watermark", BigInteger()),
)


class SweepState:
    """One named sweep (default `tasks`); every method is one short transaction."""

    def __init__(self, engine: Engine, name: str = "tasks") -> None:
        self._engine = engine
        self._name = name

    def try_lead(self, owner: str, now: datetime, lease: timedelta) -> bool:
        """Become (or stay) the only sweeper until now+lease; False while another owner's lease runs."""
        expires_at = now + lease
        with self._engine.begin() as connection:
            statement = upsert(connection, sweep_state).values(
                name=self._name, owner=owner, lease_expires_at=expires_at
            )
            statement = statement.on_conflict_do_update(
                index_elements=[sweep_state.c.name],
                set_={"owner": owner, "lease_expires_at": expires_at},
                where=or_(
                    sweep_state.c.owner.is_(None),
                    sweep_state.c.owner == owner,
                    sweep_state.c.lease_expires_at <= now,
                ),
            )
            return connection.execute(statement.returning(sweep_state.c.name)).first() is not None

    def watermark(self) -> datetime | None:
        return cast("datetime | None", self._read(sweep_state.c.watermark))

    def advance(self, watermark: datetime, now: datetime) -> bool:
        """Move the watermark forward to `watermark`; never backwards. True if it moved."""
        return self._advance(sweep_state.c.watermark, watermark, now)

    def entry_watermark(self) -> int | None:
        value = self._read(sweep_state.c.entry_watermark)
        return None if value is None else int(value)

    def advance_entries(self, last_id: int, now: datetime) -> bool:
        """Move the entry-id watermark forward to `last_id`; never backwards. True if it moved."""
        return self._advance(sweep_state.c.entry_watermark, last_id, now)

    def _read(self, column: Column[Any]) -> Any:
        with reading(self._engine) as connection:
            return connection.scalar(select(column).where(sweep_state.c.name == self._name))

    def _advance(self, column: Column[Any], value: datetime | int, now: datetime) -> bool:
        """Set `column` to `value` if it is empty or behind it (both watermarks only ever grow)."""
        with self._engine.begin() as connection:
            statement = upsert(connection, sweep_state).values(
                {"name": self._name, column.name: value, "advanced_at": now}
            )
            statement = statement.on_conflict_do_update(
                index_elements=[sweep_state.c.name],
                set_={column.name: value, "advanced_at": now},
                where=or_(column.is_(None), column < value),
            )
            return connection.execute(statement.returning(sweep_state.c.name)).first() is not None

    def release(self, owner: str) -> bool:
        """Give up the lead (shutdown) so another replica can sweep at once; True if `owner` led."""
        with self._engine.begin() as connection:
            statement = (
                update(sweep_state)
                .where(sweep_state.c.name == self._name, sweep_state.c.owner == owner)
                .values(owner=None, lease_expires_at=None)
            )
            return bool(connection.execute(statement).rowcount)
