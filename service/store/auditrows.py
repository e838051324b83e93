"""The audit log's table and the rows read from it; `audit.py` is the API (as `eventlog.py` is the
journal's)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, CheckConstraint, Column, Index, String, Table, Text

from service.core.settling import REFUSED, UNCONFIRMED
from service.store.db import Id, UtcDateTime, metadata

DRAFT_OUTCOMES = ("pending", "shadow", "dry-run", "tripped", "skipped")
FINAL_OUTCOMES = ("deleted", "gone", "failed")
ALL_OUTCOMES = DRAFT_OUTCOMES + FINAL_OUTCOMES + (UNCONFIRMED, REFUSED)
RESTORE_STATES = ("restoring", "restored")
# What the per-hour budget and the self-echo guard count: deletions sent, about to be sent, or maybe done.
DELETING = ("pending", UNCONFIRMED, "deleted")

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("task_id", BigInteger, nullable=False),
    Column("item_id", BigInteger, nullable=False),  # the time entry (task.elapseditem) id
    Column("rule", String(100), nullable=False),
    Column("ruleset_version", String(64), nullable=False),
    Column("mode", String(16), nullable=False),
    Column("outcome", String(16), nullable=False),
    Column("entry", JSON, nullable=False),
    Column("trace", JSON, nullable=False),
    Column("reason", Text, nullable=False),
    Column("cause", String(255), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    Column("error", Text),
    Column("restore_state", String(16)),  # NULL, restoring, restored
    Column("restored_item_id", BigInteger),
    Column("restored_at", UtcDateTime()),
    # The installed portal the row's task belongs to ('' = the webhook portal): task ids repeat across
    # portals, so a row is settled only by a read of its own portal (schema version 5).
    Column("portal", String(64), nullable=False, server_default=""),
    CheckConstraint(f"outcome IN {ALL_OUTCOMES!r}", name="audit_outcome"),
    Index("audit_by_task", "task_id", "created_at"),
    Index("audit_by_rule", "rule", "created_at"),
    Index("audit_by_time", "created_at"),
    # The status page (schema version 4): newest-first pages of one rule, outcome or restore state, and
    # the last 24 h counted per hour, rule and outcome from the index alone.
    Index("audit_by_rule_id", "rule", "id"),
    Index("audit_by_outcome", "outcome", "id"),
    Index("audit_by_restore_state", "restore_state", "id"),
    Index("audit_hits", "created_at", "rule", "outcome"),
    # One portal's rows newest first: the status page of a quiet portal beside a busy one (schema 7).
    Index("audit_by_portal", "portal", "id"),
)


@dataclass(frozen=True)
class AuditDraft:
    task_id: int
    item_id: int
    rule: str
    ruleset_version: str
    mode: str
    outcome: str  # one of DRAFT_OUTCOMES
    entry: dict[str, Any]
    trace: list[dict[str, Any]]
    reason: str
    cause: str  # e.g. "event:12,13" or "sweep"


@dataclass(frozen=True)
class AuditRecord:
    id: int
    task_id: int
    item_id: int
    rule: str
    ruleset_version: str
    mode: str
    outcome: str
    entry: dict[str, Any]
    trace: list[dict[str, Any]]
    reason: str
    cause: str
    created_at: datetime
    updated_at: datetime
    error: str | None
    restore_state: str | None
    restored_item_id: int | None
    restored_at: datetime | None
    portal: str = ""

    @property
    def shown_outcome(self) -> str:
        """What `audit` shows: a deleted record that was restored (or is being restored) says so."""
        return self.restore_state or self.outcome

    @classmethod
    def from_row(cls, row: Any) -> AuditRecord:
        return cls(**{column.name: row._mapping[column] for column in audit_log.columns})
