"""`b24rules audit`'s table: one line per record, whatever the rule names and comments hold."""

from __future__ import annotations

from datetime import UTC, datetime

from service.commands.operate import audit_table
from service.store.audit import AuditRecord

WHEN = datetime(2025, 9, 27, 10, 2, 11, tzinfo=UTC)


def record(audit_id: int, rule: str, comment: str, restore_state: str | None = None) -> AuditRecord:
    entry = {"ID": str(audit_id), "SECONDS": "0", "USER_ID": "5", "COMMENT_TEXT": comment}
    return AuditRecord(
        audit_id, 691, 5000 + audit_id, rule, "v1", "enforce", "deleted", entry, [], "entry.seconds eq 0",
        "event:1", WHEN, WHEN, None, restore_state, None, None,
    )  # fmt: skip


def test_long_rules_and_multi_line_comments_stay_on_one_line_and_are_cut() -> None:
    long_rule = "void-time-before-reopen-" + "x" * 60
    table = audit_table(
        [record(2, long_rule, "timer slip\n\tsecond line\r\n" + "y" * 80), record(1, "r", "")]
    )

    header, first, second = table.splitlines()
    assert header.split()[:3] == ["ID", "WHEN", "(UTC)"]
    assert "void-time-before-reopen-xxxxx..." in first
    assert long_rule not in first
    assert "timer slip second line yyyy" in first
    assert first.endswith("...")
    assert len(first) < 140
    assert second.split()[:4] == ["1", "2025-09-27", "10:02:11", "691"]


def test_a_restored_record_shows_as_restored() -> None:
    line = audit_table([record(3, "r", "c", restore_state="restored")]).splitlines()[1]

    assert line.split()[6] == "restored"


def test_no_records() -> None:
    assert audit_table([]) == "no audit records match"
