"""Reopen detection: from a stored snapshot, and from the status history on a first look."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from service.core.transitions import NO_TRANSITION, REOPEN_WINDOW, Transition, detect

NOW = datetime(2025, 9, 27, 12, tzinfo=UTC)
CHANGED = datetime(2025, 9, 27, 9, 12, tzinfo=UTC)


def row(row_id: int, at: datetime, frm: str, to: str, field: str = "STATUS") -> dict[str, object]:
    return {"id": row_id, "createdDate": at.isoformat(), "field": field, "value": {"from": frm, "to": to}}


@pytest.mark.parametrize(("stored", "current"), [(5, 2), (4, 2), (5, 3), (4, 3)])
def test_snapshot_closed_to_open_is_a_reopen_at_status_changed_date(stored: int, current: int) -> None:
    assert detect(current, stored, None, CHANGED, NOW, NOW) == Transition(stored, True, CHANGED)


@pytest.mark.parametrize(("stored", "current"), [(2, 3), (3, 5), (5, 5), (6, 2), (5, 6), (5, None)])
def test_snapshot_other_moves_are_not_reopens(stored: int, current: int | None) -> None:
    assert detect(current, stored, None, CHANGED, NOW, NOW) == Transition(stored, False, None)


def test_snapshot_accepts_raw_status_changed_date_and_tolerates_junk() -> None:
    assert detect(2, 5, None, "2025-09-27T12:12:00+03:00", None, NOW).reopened_at == CHANGED
    assert detect(2, 5, None, "garbage", None, NOW) == Transition(5, True, None)


def test_snapshot_prefers_newest_reopen_row_of_the_history() -> None:
    history = [
        row(3, CHANGED - timedelta(days=3), "5", "2"),
        row(9, CHANGED, "4", "3"),
        row(5, CHANGED - timedelta(days=1), "3", "4"),
    ]
    assert detect(3, 4, history, NOW, NOW, NOW) == Transition(4, True, CHANGED)


def test_no_snapshot_no_history_is_no_transition() -> None:
    assert detect(2, None, None, CHANGED, NOW, NOW) == NO_TRANSITION
    assert detect(2, None, [], CHANGED, NOW, NOW) == NO_TRANSITION


def test_history_newest_status_row_decides_whatever_the_server_order() -> None:
    history = [
        row(16410, CHANGED, "5", "2"),
        row(16401, CHANGED - timedelta(days=1), "3", "5"),
        row(16405, CHANGED - timedelta(hours=2), "2", "2", field="TITLE"),
    ]
    expected = Transition(5, True, CHANGED)
    assert detect(2, None, history, None, NOW, NOW) == expected
    assert detect(2, None, list(reversed(history)), None, NOW, NOW) == expected


def test_history_without_a_recent_reopen() -> None:
    history = [row(1, CHANGED - timedelta(days=2), "5", "2"), row(2, CHANGED, "2", "3")]
    assert detect(3, None, history, None, NOW, NOW) == Transition(2, False, None)


def test_history_reopen_older_than_the_window_does_not_fire() -> None:
    event_ts = CHANGED + REOPEN_WINDOW + timedelta(seconds=1)
    assert detect(2, None, [row(1, CHANGED, "5", "2")], None, event_ts, NOW) == Transition(5, False, None)
    inside = CHANGED + REOPEN_WINDOW
    assert detect(2, None, [row(1, CHANGED, "5", "2")], None, inside, NOW).reopened


def test_history_window_is_measured_from_now_when_the_event_has_no_time() -> None:
    late = CHANGED + timedelta(days=2)
    assert not detect(2, None, [row(1, CHANGED, "5", "2")], None, None, late).reopened
    assert detect(2, None, [row(1, CHANGED, "5", "2")], None, None, NOW).reopened


def test_history_that_does_not_end_at_the_current_status_is_not_trusted() -> None:
    assert detect(3, None, [row(1, CHANGED, "5", "2")], None, NOW, NOW) == NO_TRANSITION


def test_malformed_history_rows_are_skipped() -> None:
    history: list[object] = [
        "junk",
        {"field": "STATUS", "createdDate": "not a date", "value": {"from": "5", "to": "2"}},
        {"field": "STATUS", "createdDate": CHANGED.isoformat(), "value": "5->2"},
        row(7, CHANGED - timedelta(hours=1), "5", "2"),
    ]
    assert detect(2, None, history, None, NOW, NOW) == Transition(5, True, CHANGED - timedelta(hours=1))


def test_transition_facts() -> None:
    assert Transition(5, True, CHANGED).facts() == {
        "task.previous_status": 5,
        "task.reopened": True,
        "task.reopened_at": CHANGED,
    }
