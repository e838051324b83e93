"""The last verdict on each portal's credentials (administrator, scope `task`), as the worker found it.

The worker checks at start and every few minutes and writes the verdict here; `/readyz` and `doctor` read
it without a REST call of their own (the web half never calls the portal). Portal key: '' for the webhook
portal, the member id of an installed portal in application mode.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Boolean, Column, Engine, String, Table, Text, select

from service.store.db import UtcDateTime, metadata, reading, upsert

portal_checks = Table(
    "portal_checks",
    metadata,
    Column("portal", String(64), primary_key=True),
    Column("ok", Boolean, nullable=False),
    Column("reason", Text, nullable=False),  # one line; says what to fix when not ok
    Column("checked_at", UtcDateTime(), nullable=False),
)


@dataclass(frozen=True)
class Verdict:
    portal: str
    ok: bool
    reason: str
    checked_at: datetime


class PortalChecks:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def record(self, portal: str, ok: bool, reason: str, now: datetime) -> None:
        with self._engine.begin() as connection:
            values = {"ok": ok, "reason": reason[:500], "checked_at": now}
            statement = upsert(connection, portal_checks).values(portal=portal, **values)
            connection.execute(statement.on_conflict_do_update(index_elements=["portal"], set_=values))

    def get(self, portal: str = "") -> Verdict | None:
        with reading(self._engine) as connection:
            row = connection.execute(select(portal_checks).where(portal_checks.c.portal == portal)).first()
        return None if row is None else Verdict(row.portal, row.ok, row.reason, row.checked_at)

    def failing(self) -> list[Verdict]:
        """Every portal whose last check failed, oldest check first."""
        with reading(self._engine) as connection:
            rows = connection.execute(
                select(portal_checks)
                .where(portal_checks.c.ok.is_(False))
                .order_by(portal_checks.c.checked_at)
            ).all()
        return [Verdict(r.portal, r.ok, r.reason, r.checked_at) for r in rows]
