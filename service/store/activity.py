"""Which tasks saw activity in a window: events in the journal or decisions in the audit (for `diff`).

Read-only queries over two tables owned elsewhere (`eventlog`, `audit`); nothing here writes.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine, select

from service.store.audit import audit_log
from service.store.db import reading
from service.store.eventlog import events

# A task seen only in the audit (or by a sweep) is evaluated as the sweeper does it: as an update.
DEFAULT_EVENT = "ONTASKUPDATE"


def active_tasks(engine: Engine, since: datetime, portal: str = "") -> dict[int, tuple[str, ...]]:
    """task id → the event names it received since `since` (DEFAULT_EVENT when it only has decisions);
    `portal`: an installed portal's tasks only (its member id; '' = the webhook portal's, every event)."""
    names: dict[int, list[str]] = {}
    event_rows = select(events.c.task_id, events.c.name).where(events.c.received_at >= since)
    audit_rows = select(audit_log.c.task_id).where(audit_log.c.created_at >= since).distinct()
    if portal:
        event_rows = event_rows.where(events.c.member_id == portal)
        audit_rows = audit_rows.where(audit_log.c.portal == portal)
    with reading(engine) as connection:
        for task_id, name in connection.execute(event_rows.order_by(events.c.id)):
            seen = names.setdefault(int(task_id), [])
            if name.upper() not in seen and name.upper() != "ONTASKDELETE":
                seen.append(name.upper())
        for (task_id,) in connection.execute(audit_rows):
            names.setdefault(int(task_id), [])
    return {task_id: tuple(found) or (DEFAULT_EVENT,) for task_id, found in sorted(names.items())}
