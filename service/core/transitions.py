"""Status transitions: what the task's status was before this evaluation, and whether it was reopened.

Task events carry only the task id, so a reopen is seen by comparing the status now with the status we
stored last time (a snapshot), or, on the first look at a task (fresh start, lost database), with the
task's `tasks.task.history.list` STATUS rows. See the "Detecting task was reopened" notes:
https://apidocs.bitrix24.com/api-reference/tasks/tasks-task-history-list.html
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from service.core.facts import parse_datetime, parse_int

CLOSED = frozenset({4, 5})  # awaiting_review, completed
OPEN = frozenset({2, 3})  # pending, in_progress

# Without a snapshot, a history row only counts as "this event's reopen" if it is this recent before the
# event: otherwise a task reopened last year would look freshly reopened on our first look at it.
REOPEN_WINDOW = timedelta(hours=24)


@dataclass(frozen=True)
class Transition:
    previous_status: int | None
    reopened: bool
    reopened_at: datetime | None

    def facts(self) -> dict[str, object]:
        return {
            "task.previous_status": self.previous_status,
            "task.reopened": self.reopened,
            "task.reopened_at": parse_datetime(self.reopened_at),  # a naive time is unknown, not a crash
        }


NO_TRANSITION = Transition(previous_status=None, reopened=False, reopened_at=None)


@dataclass(frozen=True)
class _StatusRow:
    at: datetime
    row_id: int
    from_status: int | None
    to_status: int | None

    @property
    def is_reopen(self) -> bool:
        return self.from_status in CLOSED and self.to_status in OPEN


def detect(
    current_status: int | None,
    stored_status: int | None,
    history: Sequence[object] | None,
    status_changed_date: datetime | str | None,
    event_ts: datetime | None,
    now: datetime,
) -> Transition:
    """The transition into `current_status`, from the stored snapshot if any, else from the history.

    `status_changed_date` may be the raw `statusChangedDate` string; a malformed one counts as unknown.
    """
    rows = status_rows(history or [])
    if stored_status is not None:
        return _from_snapshot(current_status, stored_status, rows, parse_datetime(status_changed_date))
    return _from_history(current_status, rows, event_ts or now)


def _from_snapshot(
    current: int | None, stored: int, rows: list[_StatusRow], status_changed_date: datetime | None
) -> Transition:
    reopened = stored in CLOSED and current in OPEN
    if not reopened:
        return Transition(stored, False, None)
    reopens = [row for row in rows if row.is_reopen]
    at = reopens[-1].at if reopens else status_changed_date
    return Transition(stored, True, at)


def _from_history(current: int | None, rows: list[_StatusRow], reference: datetime) -> Transition:
    if not rows or current is None:
        return NO_TRANSITION
    newest = rows[-1]
    if newest.to_status != current:
        # The history does not end where the task is now (a change not yet logged): trust neither.
        return NO_TRANSITION
    recent = newest.at >= reference - REOPEN_WINDOW
    if newest.is_reopen and recent:
        return Transition(newest.from_status, True, newest.at)
    return Transition(newest.from_status, False, None)


def status_rows(history: Sequence[object]) -> list[_StatusRow]:
    """STATUS rows of `tasks.task.history.list` oldest first, sorted here: the server's order varies."""
    rows = []
    for item in history:
        row = _status_row(item)
        if row is not None:
            rows.append(row)
    return sorted(rows, key=lambda row: (row.at, row.row_id))


def _status_row(item: object) -> _StatusRow | None:
    if not isinstance(item, dict) or item.get("field") != "STATUS":
        return None
    at = parse_datetime(item.get("createdDate"))
    value = item.get("value")
    if at is None or not isinstance(value, dict):
        return None
    row_id = parse_int(item.get("id"))
    return _StatusRow(at, row_id or 0, parse_int(value.get("from")), parse_int(value.get("to")))
