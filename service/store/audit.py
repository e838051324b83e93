"""The audit log: every deletion decision, written before the delete is sent — the undo log.

A record keeps the entry as the portal returned it (author, seconds, comment, dates), the rule and rule
set version that selected it, the per-condition trace and the cause (events or sweep), so `audit` can
say why and `restore` can re-create the entry. Outcomes: written as `pending` (about to delete),
`shadow`, `dry-run`, `tripped` or `skipped` (nothing sent, final). A pending record becomes `deleted`
when the portal confirms it, or `unconfirmed` (answer lost) / `refused` (an error answered) until the
next read of its task settles it as `deleted` (by us), `gone` (by someone else) or `failed` (verified
still there): see `service/core/settling.py`. No row stays unsettled: the sweeper re-reads the tasks
of rows left so.

Restoring is made idempotent by `begin_restore`, which claims a record atomically: a second `restore`
of the same record, concurrent or later, is refused instead of creating a second copy. A restore that
crashed between `begin_restore` and `finish_restore` stays `restoring`; whether the entry was re-created
is unknown, so it is left for a person to check (`abort_restore` makes it restorable again).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, func, insert, select, update

from service.core.settling import REFUSED, UNCONFIRMED, UNSETTLED
from service.store.auditrows import (
    ALL_OUTCOMES,
    DELETING,
    DRAFT_OUTCOMES,
    FINAL_OUTCOMES,
    RESTORE_STATES,
    AuditDraft,
    AuditRecord,
    audit_log,
)
from service.store.db import is_sqlite, reading

__all__ = [
    "ALL_OUTCOMES",
    "DRAFT_OUTCOMES",
    "FINAL_OUTCOMES",
    "RESTORE_STATES",
    "AuditDraft",
    "AuditLog",
    "AuditRecord",
    "audit_log",
]


class AuditLog:
    def __init__(self, engine: Engine, portal: str = "") -> None:
        self._engine = engine
        self._portal = portal  # rows are written for it; open rows are found only for it

    @property
    def portal(self) -> str:
        """The portal this log writes for (member id; '' = the webhook portal)."""
        return self._portal

    def record(self, entries: Sequence[AuditDraft], now: datetime) -> list[int]:
        """Write the decisions (one transaction, one multi-row INSERT); return their ids in the same order."""
        for draft in entries:
            if draft.outcome not in DRAFT_OUTCOMES:
                raise ValueError(f"a decision is recorded as one of {DRAFT_OUTCOMES}, not {draft.outcome!r}")
        if not entries:
            return []
        rows = [dict(vars(draft), created_at=now, updated_at=now, portal=self._portal) for draft in entries]
        # SQLite numbers a multi-row INSERT's rows in VALUES order, so its ids are sorted instead; asked
        # to promise the order there, SQLAlchemy would send one INSERT per row. PostgreSQL keeps it in one.
        sqlite = is_sqlite(self._engine)
        statement = insert(audit_log).returning(audit_log.c.id, sort_by_parameter_order=not sqlite)
        with self._engine.begin() as connection:
            ids = [int(audit_id) for audit_id in connection.scalars(statement, rows)]
        return sorted(ids) if sqlite else ids

    def set_outcome(self, audit_id: int, outcome: str, now: datetime, error: str | None = None) -> bool:
        """Record what happened to a deletion not settled yet: deleted, gone, failed, or still unknown
        (unconfirmed, refused). False when the row was settled already (or was never a deletion), except
        that `deleted` still replaces `failed` (see `set_outcomes`)."""
        return audit_id in self.set_outcomes([(audit_id, outcome, error)], now)

    def set_outcomes(self, outcomes: Sequence[tuple[int, str, str | None]], now: datetime) -> set[int]:
        """`set_outcome` for (audit id, outcome, error) of a round's deletions in ONE transaction, one
        UPDATE per distinct outcome and error; the ids of the rows it changed.

        Only unsettled rows change, but `deleted` also overrides `failed`: a worker that took over a
        lapsed claim (its first owner alive but late) settles that owner's rows `failed` from a read made
        while their entries were still there; when the owner's delete then lands and the portal answers
        "deleted", that answer is the truth, and the row must stay restorable."""
        groups: dict[tuple[str, str | None], list[int]] = {}
        for audit_id, outcome, error in outcomes:
            if outcome not in (*FINAL_OUTCOMES, UNCONFIRMED, REFUSED):
                raise ValueError(f"a deletion ends as one of {FINAL_OUTCOMES}, not {outcome!r}")
            groups.setdefault((outcome, error), []).append(audit_id)
        changed: set[int] = set()
        if not groups:
            return changed
        with self._engine.begin() as connection:
            for (outcome, error), ids in groups.items():
                statement = (
                    update(audit_log)
                    .where(audit_log.c.id.in_(sorted(ids)), audit_log.c.outcome.in_(_settled_from(outcome)))
                    .values(outcome=outcome, error=error, updated_at=now)
                    .returning(audit_log.c.id)
                )
                changed.update(int(audit_id) for audit_id in connection.scalars(statement))
        return changed

    def unsettled(self, task_ids: Sequence[int]) -> list[AuditRecord]:
        """The rows of these tasks whose deletion is not settled yet (pending, unconfirmed, refused)."""
        if not task_ids:
            return []
        condition = (
            audit_log.c.portal == self._portal,
            audit_log.c.task_id.in_(list(task_ids)),
            audit_log.c.outcome.in_(UNSETTLED),
        )
        return self._records(select(audit_log).where(*condition).order_by(audit_log.c.id))

    def unsettled_tasks(self, before: datetime) -> set[int]:
        """Tasks with a row left unsettled since before `before` (older than any round still running)."""
        condition = (
            audit_log.c.portal == self._portal,
            audit_log.c.outcome.in_(UNSETTLED),
            audit_log.c.updated_at < before,
        )
        query = select(audit_log.c.task_id).where(*condition).distinct()
        with reading(self._engine) as connection:
            return {int(task_id) for task_id in connection.scalars(query)}

    def query(
        self,
        task_id: int | None = None,
        rule: str | None = None,
        since: datetime | None = None,
        outcome: str | None = None,
        limit: int = 1000,
        before: int | None = None,
        portal: str | None = None,
    ) -> list[AuditRecord]:
        """Records newest first, filtered by whichever arguments are given (`before`: ids below it, to page;
        `portal`: one portal's rows, None for every portal's).

        `outcome` matches what `audit` shows (`AuditRecord.shown_outcome`): `restored` and `restoring`
        select deleted records by their restore state, and `deleted` leaves those out."""
        statement = select(audit_log).order_by(audit_log.c.id.desc()).limit(limit)
        if task_id is not None:
            statement = statement.where(audit_log.c.task_id == task_id)
        if rule is not None:
            statement = statement.where(audit_log.c.rule == rule)
        if since is not None:
            statement = statement.where(audit_log.c.created_at >= since)
        if outcome is not None:
            statement = statement.where(*_shown_as(outcome))
        if before is not None:
            statement = statement.where(audit_log.c.id < before)
        if portal is not None:
            statement = statement.where(audit_log.c.portal == portal)
        return self._records(statement)

    def get(self, ids: Sequence[int], portal: str | None = None) -> list[AuditRecord]:
        """The records with these ids, in id order (missing ids, and with `portal` other portals' rows,
        are simply absent)."""
        statement = select(audit_log).where(audit_log.c.id.in_(list(ids))).order_by(audit_log.c.id)
        if portal is not None:
            statement = statement.where(audit_log.c.portal == portal)
        return self._records(statement)

    def count_deleted_since(self, rule: str, since: datetime) -> int:
        """Deletions by `rule` sent or about to be sent since `since` (the per-hour budget)."""
        statement = select(func.count()).where(*self._deleting([rule], since))
        with reading(self._engine) as connection:
            return int(connection.scalar(statement) or 0)

    def last_deletion_at(self, task_id: int, rule: str, since: datetime) -> datetime | None:
        """When `rule` last deleted (or began deleting) on `task_id`, if it did since `since`."""
        return self.last_deletions([(task_id, rule)], since).get((task_id, rule))

    def last_deletions(
        self, pairs: Sequence[tuple[int, str]], since: datetime
    ) -> dict[tuple[int, str], datetime]:
        """`last_deletion_at` for many (task id, rule) pairs in one query; those with none are absent."""
        if not pairs:
            return {}
        wanted = set(pairs)
        statement = (
            select(audit_log.c.task_id, audit_log.c.rule, func.max(audit_log.c.created_at))
            .where(
                audit_log.c.task_id.in_(sorted({task_id for task_id, _ in wanted})),
                *self._deleting(sorted({rule for _, rule in wanted}), since),
            )
            .group_by(audit_log.c.task_id, audit_log.c.rule)
        )
        with reading(self._engine) as connection:
            rows = connection.execute(statement).all()
        found = {(int(task_id), str(rule)): at for task_id, rule, at in rows}
        return {pair: at for pair, at in found.items() if pair in wanted and isinstance(at, datetime)}

    def restored_items(self, task_ids: Sequence[int]) -> set[tuple[int, int]]:
        """(task id, new item id) of the entries `restore` re-created on these tasks."""
        if not task_ids:
            return set()
        statement = select(audit_log.c.task_id, audit_log.c.restored_item_id).where(
            audit_log.c.portal == self._portal,
            audit_log.c.task_id.in_(list(task_ids)),
            audit_log.c.restored_item_id.is_not(None),
        )
        with reading(self._engine) as connection:
            return {(int(task), int(item)) for task, item in connection.execute(statement)}

    def begin_restore(self, audit_id: int, now: datetime) -> bool:
        """Claim a deleted record for restoring; False if it was not deleted or is restored/restoring."""
        statement = (
            update(audit_log)
            .where(audit_log.c.id == audit_id, audit_log.c.outcome == "deleted")
            .where(audit_log.c.restore_state.is_(None))
            .values(restore_state="restoring", updated_at=now)
        )
        with self._engine.begin() as connection:
            return bool(connection.execute(statement).rowcount)

    def finish_restore(self, audit_id: int, new_item_id: int, now: datetime) -> bool:
        values = {
            "restore_state": "restored",
            "restored_item_id": new_item_id,
            "restored_at": now,
            "updated_at": now,
        }
        return self._restoring_to(audit_id, values)

    def abort_restore(self, audit_id: int) -> bool:
        """The re-create failed for sure: the record may be restored again later."""
        return self._restoring_to(audit_id, {"restore_state": None})

    def prune(self, now: datetime, older_than: timedelta) -> int:
        """Delete records created before now - older_than; return how many."""
        with self._engine.begin() as connection:
            deleted = connection.execute(audit_log.delete().where(audit_log.c.created_at < now - older_than))
            return deleted.rowcount

    def _restoring_to(self, audit_id: int, values: dict[str, Any]) -> bool:
        condition = (audit_log.c.id == audit_id) & (audit_log.c.restore_state == "restoring")
        with self._engine.begin() as connection:
            return bool(connection.execute(update(audit_log).where(condition).values(**values)).rowcount)

    def _deleting(self, rules: Sequence[str], since: datetime) -> tuple[Any, ...]:
        # This portal's rows only: rule names and task ids repeat across portals, and one portal's
        # deletions must not spend another's hourly budget or look like its echo.
        return (
            audit_log.c.portal == self._portal,
            audit_log.c.rule.in_(rules),
            audit_log.c.outcome.in_(DELETING),
            audit_log.c.created_at >= since,
        )

    def _records(self, statement: Any) -> list[AuditRecord]:
        with reading(self._engine) as connection:
            return [AuditRecord.from_row(row) for row in connection.execute(statement)]


def _shown_as(outcome: str) -> tuple[Any, ...]:
    """Filter on the outcome `audit` shows: `deleted` means deleted and not (being) restored."""
    if outcome in RESTORE_STATES:
        return (audit_log.c.restore_state == outcome,)
    if outcome == "deleted":
        return (audit_log.c.outcome == "deleted", audit_log.c.restore_state.is_(None))
    return (audit_log.c.outcome == outcome,)


def _settled_from(outcome: str) -> tuple[str, ...]:
    """The outcomes a row may hold for `outcome` to replace it (see `AuditLog.set_outcomes`)."""
    return (*UNSETTLED, "failed") if outcome == "deleted" else UNSETTLED
