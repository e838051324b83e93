"""`b24rules audit --notifications`: the messages owed to people for deletions, and what became of them."""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import Engine

from service.core.notices import TASK_COMMENT
from service.operations.listing import columns
from service.store.notices import NoticeLog, NoticeRecord

HEADER = ("ID", "WHEN (UTC)", "TASK", "TO", "VIA", "RULES", "ENTRIES", "OUTCOME", "MESSAGE")
MESSAGE_WIDTH = 60


def show_notices(
    engine: Engine,
    task_id: int | None,
    rule: str | None,
    since: datetime | None,
    limit: int,
    as_json: bool,
    portal: str | None = None,
    domains: dict[str, str] | None = None,
) -> str:
    """`portal`: one portal's records (None: every portal's); `domains`: a PORTAL column (see audit)."""
    records = NoticeLog(engine).query(task_id=task_id, rule=rule, since=since, limit=limit, portal=portal)
    if as_json:
        return "\n".join(json.dumps(_as_dict(r), ensure_ascii=False) for r in records)
    if not records:
        return "no notification records match"
    rows = [_row(r) for r in records]
    return "\n".join(columns(HEADER, rows, [r.portal for r in records], domains))


def _row(record: NoticeRecord) -> tuple[str, ...]:
    flat = " / ".join(line.strip() for line in record.message.splitlines() if line.strip())
    message = flat if len(flat) <= MESSAGE_WIDTH else flat[: MESSAGE_WIDTH - 3] + "..."
    outcome = record.outcome + (f" ({record.attempts} tries: {record.error})" if record.error else "")
    return (
        str(record.id), record.created_at.strftime("%Y-%m-%d %H:%M:%S"), str(record.task_id),
        _recipient(record), record.via, record.rules, ",".join(str(i) for i in record.item_ids),
        outcome, message,
    )  # fmt: skip


def _recipient(record: NoticeRecord) -> str:
    return "the task" if record.recipient == TASK_COMMENT else f"user {record.recipient}"


def _as_dict(record: NoticeRecord) -> dict[str, object]:
    values = {name: getattr(record, name) for name in record.__dataclass_fields__}
    return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in values.items()}
