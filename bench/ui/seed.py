"""Fill a store with a history: N audit records and as many events, spread evenly over the last D days,
rules and outcomes mixed as a busy portal would have them, entries and traces shaped as the worker writes
them. The share of it in the Overview's last 24 hours is 1/D (D=2: half of it, the worst case).
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, insert, text

from service.store.audit import audit_log
from service.store.eventlog import events

RULES = (
    "drop-zero-duration-entries",
    "void-time-before-reopen",
    "drop-timer-slips-under-a-minute",
    "void-entries-on-closed-tasks",
    "drop-entries-without-comment",
)
# Outcome mix: mostly deletions, some shadow and dry-run records, a few failures and brakes.
OUTCOMES = (("deleted", 60), ("shadow", 20), ("gone", 8), ("skipped", 6), ("tripped", 4), ("failed", 2))
EVENT_STATUSES = (("done", 90), ("ignored", 8), ("dead", 1), ("pending", 1))
CHUNK = 5000


def _pick(weighted: tuple[tuple[str, int], ...], rng: random.Random) -> str:
    return rng.choices([name for name, _ in weighted], [weight for _, weight in weighted])[0]


def _audit_row(n: int, at: datetime, rng: random.Random) -> dict[str, Any]:
    task_id = 1000 + rng.randrange(20_000)
    seconds = rng.choice((0, 0, 0, 30, 3600))
    entry = {
        "ID": str(500_000 + n), "TASK_ID": str(task_id), "USER_ID": str(rng.randrange(1, 200)),
        "SECONDS": str(seconds), "MINUTES": str(seconds // 60), "SOURCE": "2",
        "COMMENT_TEXT": rng.choice(("", "timer slip", "call with the customer about the invoice")),
        "CREATED_DATE": at.isoformat(), "DATE_START": at.isoformat(), "DATE_STOP": at.isoformat(),
    }  # fmt: skip
    trace = [
        {"path": "where.entry.seconds", "op": "eq", "expected": 0, "actual": seconds, "ok": seconds == 0}
    ]
    outcome = _pick(OUTCOMES, rng)
    return {
        "task_id": task_id, "item_id": 500_000 + n, "rule": rng.choice(RULES), "ruleset_version": "53d2bc5e",
        "mode": "enforce", "outcome": outcome, "entry": entry, "trace": trace, "cause": f"event:{n + 1}",
        "reason": "entry.seconds eq 0 (actual 0)", "created_at": at, "updated_at": at,
        "error": "permanent: task.elapseditem.delete: ACCESS_DENIED" if outcome == "failed" else None,
    }  # fmt: skip


def _event_row(n: int, at: datetime, rng: random.Random) -> dict[str, Any]:
    status = _pick(EVENT_STATUSES, rng)
    return {
        "name": "ONTASKUPDATE", "task_id": 1000 + rng.randrange(20_000), "ts": int(at.timestamp()),
        "handler_id": "17", "domain": "acme.bitrix24.com", "member_id": "a0b1c2d3e4f5",
        "source": rng.choice(("event", "event", "event", "sweep")), "status": status, "attempts": 0,
        "received_at": at, "available_at": at, "owner": None,
        "finished_at": None if status == "pending" else at, "last_error": None,
    }  # fmt: skip


def seed(engine: Engine, rows: int, now: datetime, days: float, seed_value: int = 15) -> None:
    """`rows` audit records and `rows` events, oldest first (ids grow with time, as in production)."""
    rng = random.Random(seed_value)
    span = timedelta(days=days)
    times = sorted(now - span * rng.random() for _ in range(rows))
    for table, make in ((audit_log, _audit_row), (events, _event_row)):
        with engine.begin() as connection:
            for start in range(0, rows, CHUNK):
                batch = [make(n, times[n], rng) for n in range(start, min(start + CHUNK, rows))]
                connection.execute(insert(table), batch)
    if engine.dialect.name == "postgresql":
        # What autovacuum does within a minute of a bulk load on a real store: without statistics the
        # planner takes the fresh tables for small ones and scans them whole instead of their indexes.
        with engine.begin() as connection:
            connection.execute(text("ANALYZE audit_log, events"))
