"""`b24rules restore`: re-create deleted time entries from their audit records, once each.

Bitrix24 cannot bring back an entry's original id: the restored entry gets a new id (recorded in the
audit row). Seconds, comment, author and created date come back as they were, where the API allows.
A record is claimed before the portal is called, so two restores at once, or a second run, create
one entry at most.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from service.bitrix.portal import PortalGateway
from service.core.bitrix.errors import BitrixError, OperationTimeLimit, PermanentError, RateLimited
from service.core.digits import ascii_int
from service.core.redaction import Redactor
from service.plumbing.clock import utcnow
from service.store.audit import AuditLog, AuditRecord

# Why a record that is not `deleted` has nothing to restore.
NOTHING_DELETED = {
    "gone": "someone else removed the entry before the rule's delete reached it",
    "failed": "the delete failed; a read after it found the entry still there",
    "pending": "the delete is not settled yet; the next read of the task settles it (`b24rules sweep`)",
    "unconfirmed": "the delete's answer was lost; the next read of the task settles it (`b24rules sweep`)",
    "refused": "the portal refused the delete; the next read of the task settles it (`b24rules sweep`)",
}
# The portal turned these away before running the method: certainly nothing was created.
NOT_RUN = (PermanentError, RateLimited, OperationTimeLimit)


def restore_entries(
    audit: AuditLog,
    make_gateway: Callable[[], PortalGateway],
    redactor: Redactor,
    audit_ids: Sequence[int],
    *,
    rule: str | None,
    since: datetime | None,
    force: bool = False,
) -> list[tuple[str, bool]]:
    """Restore the given records (or everything `rule` deleted since `since`); one (line, ok) each.

    `force` retries records left `restoring` by an interrupted restore: the operator has checked
    that the entry did not come back (otherwise this makes a second copy). Only `audit`'s own portal's
    records are restored (task ids repeat across portals; another portal's record is "no such record")."""
    if audit_ids:
        records = audit.get(list(audit_ids), portal=audit.portal)
    else:
        found = [
            r
            for shown in ("deleted", "restoring")
            for r in audit.query(rule=rule, since=since, outcome=shown, portal=audit.portal)
        ]
        records = sorted(found, key=lambda r: r.id)
    missing = sorted(set(audit_ids) - {r.id for r in records})
    results = [(f"audit {i}: no such record", False) for i in missing]
    if not records:
        return results
    gateway = make_gateway()  # only now: listing nothing to restore needs no portal
    for record in records:
        if force and record.restore_state == "restoring":
            audit.abort_restore(record.id)
            record = audit.get([record.id])[0]
        results.append(_restore_one(audit, gateway, record, redactor))
    return results


def _restore_one(
    audit: AuditLog, gateway: PortalGateway, record: AuditRecord, redactor: Redactor
) -> tuple[str, bool]:
    label = f"audit {record.id} (task {record.task_id}, entry {record.item_id})"
    if record.restored_item_id is not None:
        return f"{label}: already restored as entry {record.restored_item_id}; nothing done", True
    if record.restore_state == "restoring":
        return (
            f"{label}: an earlier restore did not finish; check task {record.task_id}, then "
            f"`b24rules restore --force {record.id}` if the entry is not back",
            False,
        )
    if record.outcome != "deleted":
        why = NOTHING_DELETED.get(record.outcome, f"it was only recorded ({record.outcome}), never deleted")
        return f"{label}: nothing to restore: {why}", True
    if not audit.begin_restore(record.id, utcnow()):
        return f"{label}: another restore took it just now; nothing done", True
    entry = record.entry or {}
    seconds, comment = int(str(entry.get("SECONDS", "0"))), str(entry.get("COMMENT_TEXT") or "")
    try:
        new_id = gateway.add_entry(
            record.task_id,
            seconds=seconds,
            comment=comment,
            user_id=_int_or_none(entry.get("USER_ID")),
            created_date=_datetime_or_none(entry.get("CREATED_DATE")),
        )
    except NOT_RUN as error:  # nothing was created: the record stays restorable
        audit.abort_restore(record.id)
        text = redactor.text(str(error))
        return f"{label}: not restored, the portal refused ({text}); you can run restore again", False
    except BitrixError as error:
        # A timeout or 5xx: the entry may or may not exist now. Leave the record claimed so that a
        # second run cannot create a duplicate; an operator checks the task (see docs/operations.md).
        text = redactor.text(str(error))
        return (
            f"{label}: outcome unknown ({text}); check task {record.task_id}, then "
            f"`b24rules restore --force {record.id}` if the entry is not there",
            False,
        )
    audit.finish_restore(record.id, new_id, utcnow())
    return f"{label}: restored as entry {new_id} ({seconds} s, by user {entry.get('USER_ID', '?')})", True


def _datetime_or_none(value: object) -> datetime | None:
    try:
        return datetime.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


def _int_or_none(value: object) -> int | None:
    return ascii_int(value or "")
