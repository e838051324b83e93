"""Installed portals (application mode): who installed us, their endpoints, sealed tokens and binding state.

One row per portal, keyed by its `member_id`. Tokens (access, refresh, application) are sealed with
`sealing.Sealer` before they reach a row and opened only by the code that sends them; `PortalRecord`,
what everything else reads, carries none of them. Uninstalling purges the tokens and keeps the row
(status `uninstalled`) so the audit log still names the portal.

Token refresh is single-flight per portal across every process: a refresher first takes the row's
refresh lease (`lead_refresh`, a conditional UPDATE, the same on SQLite and PostgreSQL), calls the OAuth
server outside any transaction, saves the new pair (`save_tokens`, only while it still holds the lease)
and only then uses it. Others wait for the row's `token_version` to move.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Column, Engine, Integer, String, Table, Text, or_, select, update

from service.store.db import UtcDateTime, metadata, reading, upsert
from service.store.sealing import Sealer

ACTIVE, NEEDS_REINSTALL, UNINSTALLED = "active", "needs-reinstall", "uninstalled"
UNBOUND, ONLINE, OFFLINE, BIND_FAILED = "unbound", "online", "offline", "failed"

portals = Table(
    "portals",
    metadata,
    Column("member_id", String(64), primary_key=True),
    Column("domain", String(255), nullable=False),
    Column("client_endpoint", String(255), nullable=False),  # https://<portal>/rest/
    Column("server_endpoint", String(255), nullable=False),  # the portal's OAuth server, …/rest/
    Column("application_token", Text),  # sealed; NULL once uninstalled
    Column("access_token", Text),  # sealed
    Column("refresh_token", Text),  # sealed
    Column("expires_at", UtcDateTime()),  # the access token's expiry as the portal announced it
    Column("token_version", Integer, nullable=False),  # +1 on every new token pair
    Column("status", String(24), nullable=False),
    Column("status_reason", Text),
    Column("binding", String(24), nullable=False),
    Column("binding_error", Text),
    Column("installed_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    Column("refresh_owner", String(128)),  # the process refreshing the tokens right now
    Column("refresh_until", UtcDateTime()),  # … until this; a crashed refresher's lease runs out
)


@dataclass(frozen=True)
class Installation:
    """What an install (ONAPPINSTALL or the install page) hands over, after the portal confirmed it."""

    member_id: str
    domain: str
    client_endpoint: str
    server_endpoint: str
    application_token: str = field(repr=False)
    access_token: str = field(repr=False)
    refresh_token: str = field(repr=False)
    expires_at: datetime


@dataclass(frozen=True)
class Tokens:
    access_token: str = field(repr=False)
    refresh_token: str = field(repr=False)
    expires_at: datetime | None
    version: int


@dataclass(frozen=True)
class PortalRecord:
    """A portal as everything but the token holders sees it: no secrets."""

    member_id: str
    domain: str
    client_endpoint: str
    server_endpoint: str
    status: str
    status_reason: str | None
    binding: str
    binding_error: str | None
    expires_at: datetime | None
    installed_at: datetime
    updated_at: datetime

    @classmethod
    def from_row(cls, row: Any) -> PortalRecord:
        mapping = row._mapping
        return cls(**{name: mapping[name] for name in cls.__dataclass_fields__})


class Portals:
    """The portals table on one engine; every method is one short transaction."""

    def __init__(self, engine: Engine, sealer: Sealer) -> None:
        self._engine = engine
        self._sealer = sealer

    def install(self, installation: Installation, now: datetime) -> None:
        """Store (or replace, on reinstall) a portal's endpoints and tokens; it becomes active, unbound."""
        seal = self._sealer.seal
        values = {
            "domain": installation.domain,
            "client_endpoint": installation.client_endpoint,
            "server_endpoint": installation.server_endpoint,
            "application_token": seal(installation.application_token),
            "access_token": seal(installation.access_token),
            "refresh_token": seal(installation.refresh_token),
            "expires_at": installation.expires_at,
            "status": ACTIVE,
            "status_reason": None,
            "binding": UNBOUND,
            "binding_error": None,
            "updated_at": now,
            "refresh_owner": None,
            "refresh_until": None,
        }
        with self._engine.begin() as connection:
            statement = upsert(connection, portals).values(
                member_id=installation.member_id, token_version=1, installed_at=now, **values
            )
            set_ = dict(values, installed_at=now, token_version=portals.c.token_version + 1)
            connection.execute(
                statement.on_conflict_do_update(index_elements=[portals.c.member_id], set_=set_)
            )

    def get(self, member_id: str) -> PortalRecord | None:
        with reading(self._engine) as connection:
            row = connection.execute(select(portals).where(portals.c.member_id == member_id)).first()
        return None if row is None else PortalRecord.from_row(row)

    def find(self, key: str) -> PortalRecord | None:
        """The portal with this member id or domain (what `--portal` takes)."""
        wanted = key.strip().lower()
        condition = or_(portals.c.member_id == key.strip(), portals.c.domain == wanted)
        with reading(self._engine) as connection:
            row = connection.execute(select(portals).where(condition).order_by(portals.c.member_id)).first()
        return None if row is None else PortalRecord.from_row(row)

    def all(self) -> list[PortalRecord]:
        with reading(self._engine) as connection:
            rows = connection.execute(select(portals).order_by(portals.c.domain, portals.c.member_id)).all()
        return [PortalRecord.from_row(row) for row in rows]

    def active(self) -> list[PortalRecord]:
        return [portal for portal in self.all() if portal.status == ACTIVE]

    def application_token(self, member_id: str) -> str | None:
        """The token events from this portal must carry; None unless the portal is installed."""
        query = select(portals.c.application_token).where(
            portals.c.member_id == member_id, portals.c.status != UNINSTALLED
        )
        with reading(self._engine) as connection:
            sealed = connection.scalar(query)
        return None if sealed is None else self._sealer.open(sealed)

    def tokens(self, member_id: str) -> Tokens | None:
        query = select(
            portals.c.access_token, portals.c.refresh_token, portals.c.expires_at, portals.c.token_version
        ).where(portals.c.member_id == member_id, portals.c.status == ACTIVE)
        with reading(self._engine) as connection:
            row = connection.execute(query).first()
        if row is None or row.access_token is None or row.refresh_token is None:
            return None
        opened = self._sealer.open
        return Tokens(opened(row.access_token), opened(row.refresh_token), row.expires_at, row.token_version)

    def uninstall(self, member_id: str, now: datetime) -> bool:
        """Purge the portal's tokens and stop its work; the row stays (the audit names it). True if known."""
        values = {
            "application_token": None,
            "access_token": None,
            "refresh_token": None,
            "expires_at": None,
            "status": UNINSTALLED,
            "status_reason": "the application was uninstalled from the portal",
            "binding": UNBOUND,
            "updated_at": now,
        }
        return self._update(member_id, values)

    def mark_needs_reinstall(self, member_id: str, reason: str, now: datetime) -> bool:
        """The tokens cannot be renewed; True only for the call that changed the status (report once)."""
        statement = (
            update(portals)
            .where(portals.c.member_id == member_id, portals.c.status == ACTIVE)
            .values(status=NEEDS_REINSTALL, status_reason=reason[:500], updated_at=now)
        )
        with self._engine.begin() as connection:
            return bool(connection.execute(statement).rowcount)

    def set_binding(self, member_id: str, binding: str, now: datetime, error: str | None = None) -> bool:
        return self._update(member_id, {"binding": binding, "binding_error": error, "updated_at": now})

    def lead_refresh(self, member_id: str, owner: str, now: datetime, lease: timedelta) -> bool:
        """Take the portal's refresh lease (free, ours, or run out); False while another process holds it."""
        free = or_(
            portals.c.refresh_owner.is_(None),
            portals.c.refresh_owner == owner,
            portals.c.refresh_until <= now,
        )
        statement = (
            update(portals)
            .where(portals.c.member_id == member_id, portals.c.status == ACTIVE, free)
            .values(refresh_owner=owner, refresh_until=now + lease)
        )
        with self._engine.begin() as connection:
            return bool(connection.execute(statement).rowcount)

    def save_tokens(
        self,
        member_id: str,
        owner: str,
        access_token: str,
        refresh_token: str,
        expires_at: datetime,
        now: datetime,
    ) -> bool:
        """Store a refreshed pair and free the lease, only while `owner` still holds it."""
        statement = (
            update(portals)
            .where(portals.c.member_id == member_id, portals.c.refresh_owner == owner)
            .values(
                access_token=self._sealer.seal(access_token),
                refresh_token=self._sealer.seal(refresh_token),
                expires_at=expires_at,
                token_version=portals.c.token_version + 1,
                refresh_owner=None,
                refresh_until=None,
                updated_at=now,
            )
        )
        with self._engine.begin() as connection:
            return bool(connection.execute(statement).rowcount)

    def end_refresh(self, member_id: str, owner: str) -> None:
        """Give the refresh lease back without new tokens (the refresh failed)."""
        statement = (
            update(portals)
            .where(portals.c.member_id == member_id, portals.c.refresh_owner == owner)
            .values(refresh_owner=None, refresh_until=None)
        )
        with self._engine.begin() as connection:
            connection.execute(statement)

    def _update(self, member_id: str, values: dict[str, Any]) -> bool:
        with self._engine.begin() as connection:
            statement = update(portals).where(portals.c.member_id == member_id).values(**values)
            return bool(connection.execute(statement).rowcount)
