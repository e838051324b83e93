"""Taking a round's leases and events set-wise: two statements per round instead of two per task.

`slices.claim` chooses up to 100 tasks, then takes them here: one upsert for all their leases
(each row inserted, or taken over only where the old lease expired — the same condition as before, row
by row, in ascending task id order), and one UPDATE … RETURNING for all the events of the tasks it got.
Measured in process on a 300-task drain (SQLite), the per-task pair of Core statements was half of the
worker's CPU. The lease upsert is SQL text per dialect (a multi-row Core INSERT costs ~50 µs per row to
build); the ids travel as one parameter: a JSON array read by `json_each` on SQLite, an array for
`unnest` on PostgreSQL. The events UPDATE is Core, built once per process with bound parameters.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from functools import cache
from typing import Any

from sqlalchemy import Connection, TextClause, and_, bindparam, case, or_, text, update
from sqlalchemy.sql.dml import ReturningUpdate

from service.store.db import UtcDateTime, is_sqlite
from service.store.eventlog import PENDING, PROCESSING, EventRecord, events, task_leases

LEASE_LOST = "lease expired before the evaluation finished (worker lost)"

if set(task_leases.c.keys()) != {"portal", "task_id", "owner", "expires_at"}:
    raise RuntimeError("leasing.py writes every column of `task_leases`: update it with the table")


_TAKE_OVER = "DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at"


def _leases_from(ids: str) -> TextClause:
    """The upsert of one lease per task id that `ids` (SQL of a row source with column `t`) yields."""
    return text(
        "INSERT INTO task_leases (portal, task_id, owner, expires_at) "  # noqa: S608 (constants; values bound)
        f"SELECT :portal, t, :owner, :expires_at FROM {ids} ON CONFLICT (portal, task_id) {_TAKE_OVER} "
        "WHERE task_leases.expires_at <= :now RETURNING task_id"
    ).bindparams(bindparam("expires_at", type_=UtcDateTime()), bindparam("now", type_=UtcDateTime()))


# WHERE true: without it SQLite reads the ON of ON CONFLICT as a join's (its documented ambiguity).
_LEASES_SQLITE = _leases_from("(SELECT value AS t FROM json_each(:task_ids)) WHERE true")
# ORDER BY: rows are inserted, hence locked, in ascending task id order (see claims.py).
_LEASES_POSTGRES = _leases_from("unnest(CAST(:task_ids AS BIGINT[])) AS t ORDER BY t")


def take_leases(
    connection: Connection, portal: str, task_ids: Sequence[int], owner: str, now: Any, expires_at: Any
) -> list[int]:
    """Lease those of `task_ids` that have no lease or an expired one; the ids taken, ascending."""
    if not task_ids:
        return []
    statement: TextClause = _LEASES_SQLITE if is_sqlite(connection) else _LEASES_POSTGRES
    ids: object = json.dumps(sorted(task_ids)) if is_sqlite(connection) else sorted(task_ids)
    params = {"portal": portal, "owner": owner, "expires_at": expires_at, "now": now, "task_ids": ids}
    return sorted(int(task_id) for task_id in connection.scalars(statement, params))


def take_events(
    connection: Connection, portal: str, task_ids: Sequence[int], owner: str, now: Any
) -> dict[int, list[EventRecord]]:
    """Move the claimable events of the leased `task_ids` to `processing` under `owner`; per task, by id.

    An event still `processing` was left by a worker whose lease expired: it counts one attempt."""
    if not task_ids:
        return {}
    params = {"task_ids": list(task_ids), "now": now, "claimer": owner, "portal": portal}
    taken: dict[int, list[EventRecord]] = {}
    for row in connection.execute(_take_statement(bool(portal)), params):
        record = EventRecord.from_columns(row)
        taken.setdefault(record.task_id, []).append(record)
    for records in taken.values():
        records.sort(key=lambda record: record.id)
    return taken


def drop_leases(connection: Connection, portal: str, task_ids: Sequence[int], owner: str) -> int:
    """Free the leases `owner` holds on `task_ids` (tasks whose events another worker finished)."""
    if not task_ids:
        return 0
    leases = task_leases.c
    mine = and_(leases.portal == portal, leases.owner == owner, leases.task_id.in_(list(task_ids)))
    return int(connection.execute(task_leases.delete().where(mine)).rowcount)


def claimable(now: Any, portal: Any | None) -> Any:
    """Pending and due, or `processing` under a lease that expired; of `portal` when one is given.

    The journal keeps the portal an event came from in `member_id` (auth[member_id]); in webhook mode
    there is one portal and every event is its own."""
    due = and_(events.c.status == PENDING, events.c.available_at <= now)
    either = or_(due, events.c.status == PROCESSING)
    return either if portal is None else and_(either, events.c.member_id == portal)


@cache
def _take_statement(by_portal: bool) -> ReturningUpdate[Any]:
    orphaned = events.c.status == PROCESSING
    return (
        update(events)
        .where(
            events.c.task_id.in_(bindparam("task_ids", expanding=True)),
            claimable(bindparam("now", type_=UtcDateTime()), bindparam("portal") if by_portal else None),
        )
        .values(
            status=PROCESSING,
            owner=bindparam("claimer"),
            attempts=case((orphaned, events.c.attempts + 1), else_=events.c.attempts),
            last_error=case((orphaned, LEASE_LOST), else_=events.c.last_error),
        )
        .returning(*events.columns)  # in the table's order: EventRecord's fields
    )
