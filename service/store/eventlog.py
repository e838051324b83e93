"""The journal's tables — `events` (every accepted event) and `task_leases` — and the rows read from them.

`journal.py` is the API; `claims.py` does the leasing. Both build on the definitions here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, CheckConstraint, Column, Index, Integer, String, Table, Text

from service.store.db import Id, UtcDateTime, metadata

PENDING, PROCESSING, DONE, DEAD, IGNORED = "pending", "processing", "done", "dead", "ignored"
STATUSES = (PENDING, PROCESSING, DONE, DEAD, IGNORED)
SOURCES = ("event", "sweep", "replay")

events = Table(
    "events",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("name", String(64), nullable=False),
    Column("task_id", BigInteger, nullable=False),
    Column("ts", BigInteger),  # unix seconds the portal queued the event, when sent
    Column("handler_id", String(255), nullable=False),
    Column("domain", String(255), nullable=False),
    Column("member_id", String(255), nullable=False),
    Column("source", String(16), nullable=False),
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False),  # failed evaluations so far
    Column("received_at", UtcDateTime(), nullable=False),
    Column("available_at", UtcDateTime(), nullable=False),  # not claimable before (retry backoff)
    Column("owner", String(128)),  # the worker holding it while `processing`
    Column("finished_at", UtcDateTime()),
    Column("last_error", Text),
    CheckConstraint(f"status IN {STATUSES!r}", name="events_status"),
    CheckConstraint(f"source IN {SOURCES!r}", name="events_source"),
    Index("events_claimable", "status", "available_at"),
    Index("events_by_task", "task_id", "status"),
    Index("events_finished", "status", "finished_at"),
    # One portal's rows, newest first: an idle portal's claim poll (application mode) reads its own
    # rows, not every pending row of a busy portal beside it (docs/performance.md, "Idle portals
    # beside a busy one").
    Index("events_by_portal", "member_id", "id"),
)

# One row per task being evaluated; the row's owner may evaluate the task until `expires_at`.
# `portal`: the member id of an installed portal (application mode), '' for the webhook portal; task ids
# are only unique within a portal (schema version 3).
task_leases = Table(
    "task_leases",
    metadata,
    Column("portal", String(64), primary_key=True, server_default="", default=""),
    Column("task_id", BigInteger, primary_key=True, autoincrement=False),
    Column("owner", String(128), nullable=False),
    Column("expires_at", UtcDateTime(), nullable=False),
)


@dataclass(frozen=True)
class EventRecord:
    """One stored event, as read back (credentials were never stored)."""

    id: int
    name: str
    task_id: int
    ts: int | None
    handler_id: str
    domain: str
    member_id: str
    source: str
    status: str
    attempts: int
    received_at: datetime
    available_at: datetime
    owner: str | None
    finished_at: datetime | None
    last_error: str | None

    @classmethod
    def from_row(cls, row: Any) -> EventRecord:
        return cls(**{column.name: row._mapping[column] for column in events.columns})

    @classmethod
    def from_columns(cls, row: Any) -> EventRecord:
        """From a row of exactly `events.columns`, in their order (no lookup by name: a claim's hot path)."""
        return cls(*row)


# `from_columns` relies on the fields and the table's columns being in the same order (checked at import,
# also under `python -O`).
if [column.name for column in events.columns] != list(EventRecord.__dataclass_fields__):
    raise RuntimeError("EventRecord's fields and the events table's columns differ in order")
