"""`b24rules restore`: re-create deleted time entries from their audit records, once each.

Bitrix24 cannot bring back an entry's original id: the restored entry gets a new id (recorded in the
audit row). Seconds, comment, author and created date come back as they were, where the API allows.
A record is claimed before the portal is called, so two restores at once, or a second run, create
one entry at most.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from service.bitrix.portal import PortalGateway
from service.clock import utcnow
from service.core.bitrix.errors import BitrixError, PermanentError
from service.runtime import Runtime
from service.store.audit import AuditLog, AuditRecord
from service.wiring import make_gateway

RESTORABLE = ("deleted",)


def restore_entries(
    runtime: Runtime, audit_ids: Sequence[int], *, rule: str | None, since: datetime | None
) -> list[tuple[str, bool]]:
    audit = AuditLog(runtime.engine)
    records = (
        audit.get(list(audit_ids)) if audit_ids else audit.query(rule=rule, since=since, outcome="deleted")
    )
    missing = sorted(set(audit_ids) - {r.id for r in records})
    results = [(f"audit {i}: no such record", False) for i in missing]
    if not records:
        return results
    gateway = make_gateway(runtime)
    for record in records:
        results.append(_restore_one(audit, gateway, record, runtime))
    return results


def _restore_one(
    audit: AuditLog, gateway: PortalGateway, record: AuditRecord, runtime: Runtime
) -> tuple[str, bool]:
    label = f"audit {record.id} (task {record.task_id}, entry {record.item_id})"
    if record.restored_item_id is not None:
        return f"{label}: already restored as entry {record.restored_item_id}", True
    if record.outcome not in RESTORABLE:
        return f"{label}: outcome is {record.outcome}, nothing was deleted, nothing to restore", True
    if not audit.begin_restore(record.id, utcnow()):
        return f"{label}: a restore is already in progress or done", True
    entry = record.entry or {}
    try:
        new_id = gateway.add_entry(
            record.task_id,
            seconds=int(str(entry.get("SECONDS", "0"))),
            comment=str(entry.get("COMMENT_TEXT") or ""),
            user_id=_int_or_none(entry.get("USER_ID")),
            created_date=_datetime_or_none(entry.get("CREATED_DATE")),
        )
    except PermanentError as error:  # the portal refused: nothing was created, a later try may work
        audit.abort_restore(record.id)
        return f"{label}: the portal refused: {runtime.redactor.text(str(error))}", False
    except BitrixError as error:
        # A timeout or 5xx: the entry may or may not exist now. Leave the record claimed so that a
        # second run cannot create a duplicate; an operator checks the task (see docs/operations.md).
        text = runtime.redactor.text(str(error))
        return f"{label}: outcome unknown ({text}); check task {record.task_id} before retrying", False
    audit.finish_restore(record.id, new_id, utcnow())
    return f"{label}: restored as entry {new_id}", True


def _datetime_or_none(value: object) -> datetime | None:
    try:
        return datetime.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


def _int_or_none(value: object) -> int | None:
    text = str(value or "")
    return int(text) if text.isdigit() else None
