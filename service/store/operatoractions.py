"""What people did from the status page (restore, rearm, replay): who, when, to what, and how it ended.

The audit log records the service's decisions; this table records the operators' — so "who restored
that entry?" has an answer. Rows are only ever added.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Column, Engine, Index, Select, String, Table, Text, insert, select

from service.store.db import Id, UtcDateTime, metadata, reading

MAX_DETAIL_CHARS = 4000

operator_actions = Table(
    "operator_actions",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("at", UtcDateTime(), nullable=False),
    Column("actor", String(200), nullable=False),  # the name given at sign-in, and how they signed in
    Column("action", String(32), nullable=False),  # restore, rearm, replay
    Column("target", String(255), nullable=False),  # "audit 14", "rule drop-…", "event 12", "dead letters"
    Column("ok", Boolean, nullable=False),
    Column("detail", Text, nullable=False),  # what the action answered, one line per item
    # The installed portal acted on ('' = the webhook portal), schema version 6.
    Column("portal", String(64), nullable=False, server_default=""),
    Index("operator_actions_by_time", "at"),
)


@dataclass(frozen=True)
class OperatorAction:
    id: int
    at: datetime
    actor: str
    action: str
    target: str
    ok: bool
    detail: str
    portal: str

    @classmethod
    def from_row(cls, row: Any) -> OperatorAction:
        return cls(**{column.name: row._mapping[column] for column in operator_actions.columns})


class OperatorActions:
    """One portal's actions (an installed portal's member id), or '' webhook mode's: every row."""

    def __init__(self, engine: Engine, portal: str = "") -> None:
        self._engine = engine
        self._portal = portal

    def for_portal(self, portal: str) -> OperatorActions:
        return OperatorActions(self._engine, portal)

    def record(self, *, actor: str, action: str, target: str, ok: bool, detail: str, now: datetime) -> int:
        cut = detail if len(detail) <= MAX_DETAIL_CHARS else detail[: MAX_DETAIL_CHARS - 1] + "…"
        values = {"at": now, "actor": actor[:200], "action": action, "target": target[:255], "ok": ok,
                  "portal": self._portal}  # fmt: skip
        statement = insert(operator_actions).values(detail=cut, **values).returning(operator_actions.c.id)
        with self._engine.begin() as connection:
            return int(connection.execute(statement).scalar_one())

    def get(self, action_id: int) -> OperatorAction | None:
        with reading(self._engine) as connection:
            statement = select(operator_actions).where(operator_actions.c.id == action_id)
            row = connection.execute(self._own(statement)).first()
        return None if row is None else OperatorAction.from_row(row)

    def recent(self, limit: int = 50, before: int | None = None) -> list[OperatorAction]:
        """Newest first; `before` (an id) pages further back."""
        statement = select(operator_actions).order_by(operator_actions.c.id.desc()).limit(limit)
        if before is not None:
            statement = statement.where(operator_actions.c.id < before)
        with reading(self._engine) as connection:
            return [OperatorAction.from_row(row) for row in connection.execute(self._own(statement))]

    def _own(self, statement: Select[Any]) -> Select[Any]:
        return statement.where(operator_actions.c.portal == self._portal) if self._portal else statement
