from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

import pytest
from sqlalchemy import Engine

from service.store.audit import AuditDraft, AuditLog

ENTRY = {
    "ID": "301",
    "USER_ID": "9",
    "SECONDS": "0",
    "COMMENT_TEXT": "timer started by mistake",
    "CREATED_DATE": "2025-02-28T10:00:00+03:00",
}
DRAFT = AuditDraft(
    task_id=5,
    item_id=301,
    rule="drop-zero-duration-entries",
    ruleset_version="sha256:ab12",
    mode="enforce",
    outcome="pending",
    entry=ENTRY,
    trace=[{"path": "entry.seconds", "op": "eq", "expected": 0, "actual": 0, "ok": True}],
    reason="entry.seconds eq 0",
    cause="event:12,13",
)


@pytest.fixture
def audit(engine: Engine) -> AuditLog:
    return AuditLog(engine)


def test_record_then_outcome_then_query(audit: AuditLog, now: datetime) -> None:
    [audit_id, shadow_id] = audit.record([DRAFT, replace(DRAFT, item_id=302, outcome="shadow")], now)

    assert audit.set_outcome(audit_id, "deleted", now + timedelta(seconds=1))

    [record] = audit.get([audit_id])
    assert (record.outcome, record.entry, record.trace, record.cause) == (
        "deleted",
        ENTRY,
        DRAFT.trace,
        "event:12,13",
    )
    assert (record.created_at, record.updated_at) == (now, now + timedelta(seconds=1))
    assert [r.id for r in audit.query(task_id=5)] == [shadow_id, audit_id]  # newest first
    assert [r.id for r in audit.query(outcome="shadow")] == [shadow_id]
    assert audit.query(rule="other") == []
    assert audit.query(since=now + timedelta(seconds=1)) == []
    assert len(audit.query(limit=1)) == 1
    assert not audit.set_outcome(shadow_id, "deleted", now)  # nothing was sent for a shadow decision


def test_outcomes_are_checked(audit: AuditLog, now: datetime) -> None:
    with pytest.raises(ValueError, match="recorded as one of"):
        audit.record([replace(DRAFT, outcome="deleted")], now)
    [audit_id] = audit.record([DRAFT], now)
    with pytest.raises(ValueError, match="ends as one of"):
        audit.set_outcome(audit_id, "shadow", now)
    assert audit.set_outcome(audit_id, "unconfirmed", now, error="TIMEOUT")
    assert audit.set_outcome(audit_id, "failed", now, error="ACCESS_DENIED")
    assert audit.get([audit_id])[0].error == "ACCESS_DENIED"
    # Final: a settled row never changes again (a retry writes a row of its own)…
    assert not audit.set_outcome(audit_id, "gone", now)
    assert audit.get([audit_id])[0].outcome == "failed"
    # …except that the portal's own "deleted" answer, arriving late, is the truth about a `failed` row
    # (settled so by a worker that took the claim over and read the entry before the delete landed).
    assert audit.set_outcome(audit_id, "deleted", now)
    assert audit.get([audit_id])[0].outcome == "deleted"
    assert not audit.set_outcome(audit_id, "failed", now)


def test_open_rows_are_found_by_task_and_by_age(audit: AuditLog, now: datetime) -> None:
    later = now + timedelta(minutes=10)
    pending, lost, refused, done = audit.record([replace(DRAFT, item_id=n) for n in range(4)], now)
    [elsewhere] = audit.record([replace(DRAFT, task_id=6, item_id=9)], later)
    audit.set_outcome(lost, "unconfirmed", now, error="TIMEOUT")
    audit.set_outcome(refused, "refused", now, error="not found")
    audit.set_outcome(done, "deleted", now)

    assert [r.id for r in audit.unsettled([5])] == [pending, lost, refused]
    assert [r.id for r in audit.unsettled([5, 6])] == [pending, lost, refused, elsewhere]
    assert audit.unsettled([]) == []
    assert audit.unsettled_tasks(before=now + timedelta(minutes=1)) == {5}  # task 6's row is too fresh
    assert audit.unsettled_tasks(before=later + timedelta(minutes=1)) == {5, 6}
    # A lost answer may have deleted the entry: the hourly budget and the echo guard count it.
    assert audit.count_deleted_since(DRAFT.rule, now) == 4  # two pending, unconfirmed, deleted


def test_datetimes_in_traces_are_stored_as_iso_text(audit: AuditLog, now: datetime) -> None:
    trace = [{"path": "entry.created_date", "op": "before", "expected": now, "actual": now, "ok": False}]
    [audit_id] = audit.record([replace(DRAFT, trace=trace)], now)
    assert audit.get([audit_id])[0].trace[0]["expected"] == now.isoformat()


def test_the_budget_counts_deletions_sent_or_about_to_be(audit: AuditLog, now: datetime) -> None:
    ids = audit.record([replace(DRAFT, item_id=n) for n in range(4)], now)
    audit.record([replace(DRAFT, item_id=9, outcome="shadow")], now)
    audit.record([replace(DRAFT, item_id=10, rule="other")], now)
    audit.set_outcome(ids[0], "deleted", now)
    audit.set_outcome(ids[1], "gone", now)
    audit.set_outcome(ids[2], "failed", now)

    assert audit.count_deleted_since(DRAFT.rule, now - timedelta(hours=1)) == 2  # deleted + pending
    assert audit.count_deleted_since(DRAFT.rule, now + timedelta(seconds=1)) == 0


def test_the_echo_guard_sees_when_a_rule_last_deleted_on_a_task(audit: AuditLog, now: datetime) -> None:
    later = now + timedelta(seconds=30)
    [deleted] = audit.record([replace(DRAFT, item_id=1)], now)
    audit.set_outcome(deleted, "deleted", now)
    audit.record([replace(DRAFT, item_id=2)], later)  # pending: being deleted right now
    [failed] = audit.record([replace(DRAFT, item_id=3)], later + timedelta(seconds=5))
    audit.set_outcome(failed, "failed", later + timedelta(seconds=5))  # nothing was deleted
    audit.record([replace(DRAFT, item_id=4, outcome="shadow")], later + timedelta(seconds=10))
    audit.record([replace(DRAFT, item_id=5, rule="other")], later + timedelta(seconds=20))
    a_minute_ago = now - timedelta(minutes=1)

    assert audit.last_deletion_at(DRAFT.task_id, DRAFT.rule, a_minute_ago) == later
    assert audit.last_deletion_at(DRAFT.task_id + 1, DRAFT.rule, a_minute_ago) is None
    assert audit.last_deletion_at(DRAFT.task_id, DRAFT.rule, later + timedelta(seconds=1)) is None


def test_the_echo_guard_looks_up_many_tasks_and_rules_at_once(audit: AuditLog, now: datetime) -> None:
    later = now + timedelta(seconds=30)
    audit.record([DRAFT, replace(DRAFT, task_id=6, rule="other")], now)
    audit.record([replace(DRAFT, item_id=302), replace(DRAFT, task_id=7, rule="other")], later)
    pairs = [(5, DRAFT.rule), (6, "other"), (6, DRAFT.rule), (5, "other"), (8, DRAFT.rule)]

    # (6, rule) and (5, other) are absent although task 6, task 5 and both rules have rows.
    assert audit.last_deletions(pairs, now) == {(5, DRAFT.rule): later, (6, "other"): now}
    assert audit.last_deletions(pairs, later) == {(5, DRAFT.rule): later}
    assert audit.last_deletions([], now) == {}


def test_a_rounds_audit_rows_get_their_ids_in_order(audit: AuditLog, now: datetime) -> None:
    """Outcomes are written by these ids: a row must never get another deletion's outcome."""
    items = [907, 12, 455, 3, 88, 610, 1, 77] * 5
    drafts = [replace(DRAFT, item_id=item, task_id=n) for n, item in enumerate(items)]

    ids = audit.record(drafts, now)

    rows = {record.id: record for record in audit.get(ids)}
    assert len(rows) == len(drafts)
    assert [(rows[i].task_id, rows[i].item_id) for i in ids] == [(d.task_id, d.item_id) for d in drafts]


def test_a_rounds_outcomes_are_set_together_and_settled_rows_stay(audit: AuditLog, now: datetime) -> None:
    ids = audit.record(
        [replace(DRAFT, item_id=n) for n in range(4)] + [replace(DRAFT, outcome="shadow")], now
    )
    audit.set_outcome(ids[3], "failed", now)
    later = now + timedelta(seconds=1)

    changed = audit.set_outcomes(
        [(ids[0], "deleted", None), (ids[1], "gone", "not found"), (ids[2], "unconfirmed", "TIMEOUT"),
         (ids[3], "gone", None), (ids[4], "deleted", None)],
        later,
    )  # fmt: skip

    assert changed == {ids[0], ids[1], ids[2]}  # a settled row and a shadow decision stay as they were
    records = audit.get(ids)
    assert [(r.outcome, r.error) for r in records] == [
        ("deleted", None), ("gone", "not found"), ("unconfirmed", "TIMEOUT"), ("failed", None),
        ("shadow", None),
    ]  # fmt: skip
    assert [r.updated_at for r in records] == [later, later, later, now, now]
    with pytest.raises(ValueError, match="ends as one of"):
        audit.set_outcomes([(ids[0], "pending", None)], later)


def test_restore_is_idempotent(audit: AuditLog, now: datetime) -> None:
    [audit_id, pending_id] = audit.record([DRAFT, replace(DRAFT, item_id=302)], now)
    audit.set_outcome(audit_id, "deleted", now)

    assert not audit.begin_restore(pending_id, now)  # never deleted: nothing to restore
    assert audit.begin_restore(audit_id, now)
    assert not audit.begin_restore(audit_id, now)  # a concurrent second restore is refused
    assert audit.abort_restore(audit_id)
    assert audit.begin_restore(audit_id, now)
    assert audit.finish_restore(audit_id, 777, now + timedelta(seconds=2))
    assert not audit.begin_restore(audit_id, now)  # already restored
    assert not audit.abort_restore(audit_id)

    [record] = audit.get([audit_id])
    assert (record.restore_state, record.restored_item_id, record.restored_at) == (
        "restored",
        777,
        now + timedelta(seconds=2),
    )


def test_restored_records_are_found_and_shown_as_restored(audit: AuditLog, now: datetime) -> None:
    ids = audit.record([replace(DRAFT, item_id=n) for n in (1, 2, 3)], now)
    for audit_id in ids:
        audit.set_outcome(audit_id, "deleted", now)
    restored, restoring, still_deleted = ids
    audit.begin_restore(restored, now)
    audit.finish_restore(restored, 901, now)
    audit.begin_restore(restoring, now)

    assert [r.id for r in audit.query(outcome="restored")] == [restored]
    assert [r.id for r in audit.query(outcome="restoring")] == [restoring]
    assert [r.id for r in audit.query(outcome="deleted")] == [still_deleted]
    shown = {r.id: r.shown_outcome for r in audit.get(ids)}
    assert shown == {restored: "restored", restoring: "restoring", still_deleted: "deleted"}


def test_prune_keeps_recent_records(audit: AuditLog, now: datetime) -> None:
    [old] = audit.record([DRAFT], now - timedelta(days=400))
    [recent] = audit.record([DRAFT], now)

    assert audit.prune(now, timedelta(days=365)) == 1
    assert [record.id for record in audit.get([old, recent])] == [recent]
