"""REST calls as values: a method name plus its parameters in the exact order they must be sent.

The legacy `task.*` methods read their parameters by position and ignore the key names, so the order of
`Call.params` is part of the request, not a detail: TASKID, ITEMID, ARFIELDS and TASKID, ORDER, FILTER,
SELECT, PARAMS. Every builder here fixes that order once.
https://apidocs.bitrix24.com/api-reference/tasks/elapsed-item/index.html ("mandatory to follow the order")
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

# What we read from a time entry; explicit so the facts layer never depends on a server default.
ENTRY_FIELDS: tuple[str, ...] = (
    "ID",
    "TASK_ID",
    "USER_ID",
    "COMMENT_TEXT",
    "SECONDS",
    "MINUTES",
    "SOURCE",
    "CREATED_DATE",
    "DATE_START",
    "DATE_STOP",
)

Param = tuple[str, object]


@dataclass(frozen=True)
class Call:
    """One REST method call. Values are str, int, float, bool, or (nested) mappings and sequences."""

    method: str
    params: tuple[Param, ...] = ()

    def param(self, name: str) -> object:
        return dict(self.params)[name]


def _iso(moment: datetime) -> str:
    if moment.tzinfo is None:
        raise ValueError("Bitrix24 dates must carry a UTC offset; got a naive datetime")
    return moment.isoformat(timespec="seconds")


def task_get(task_id: int, select: Sequence[str]) -> Call:
    """tasks.task.get: the task's fields (camelCase keys in the answer; `[]` when the task is gone).

    https://apidocs.bitrix24.com/api-reference/tasks/tasks-task-get.html
    """
    return Call("tasks.task.get", (("taskId", int(task_id)), ("select", list(select))))


def task_list_changed(since: datetime, start: int) -> Call:
    """tasks.task.list: ids of tasks changed at or after `since`, oldest change first, 50 a page.

    https://apidocs.bitrix24.com/api-reference/tasks/tasks-task-list.html
    """
    return Call(
        "tasks.task.list",
        (
            ("order", {"CHANGED_DATE": "asc", "ID": "asc"}),
            ("filter", {">=CHANGED_DATE": _iso(since)}),
            ("select", ["ID", "CHANGED_DATE"]),
            ("start", int(start)),
        ),
    )


def status_history(task_id: int) -> Call:
    """tasks.task.history.list: the task's STATUS changes, newest first.

    The docs say newest first is the default, but the kernel (CTaskLog::GetList) sorts CREATED_DATE ASC
    unless told otherwise, so the order is always explicit.
    https://apidocs.bitrix24.com/api-reference/tasks/tasks-task-history-list.html
    """
    return Call(
        "tasks.task.history.list",
        (("taskId", int(task_id)), ("filter", {"FIELD": "STATUS"}), ("order", {"CREATED_DATE": "DESC"})),
    )


def entries_list(task_id: int, select: Sequence[str] = ENTRY_FIELDS) -> Call:
    """task.elapseditem.getlist: every time entry of one task (no NAV_PARAMS = no paging), by ID.

    Positional trap: when the first value is an array the server inserts TASKID=0 in front and lists
    entries of *all* tasks, so TASKID and ORDER always come first. FILTER is never empty: an empty array
    vanishes from a batch query string and SELECT would then be read as FILTER; `>ID: 0` (a documented
    filter field) matches every entry.
    https://apidocs.bitrix24.com/api-reference/tasks/elapsed-item/task-elapsed-item-get-list.html
    """
    return Call(
        "task.elapseditem.getlist",
        (
            ("TASKID", int(task_id)),
            ("ORDER", {"ID": "asc"}),
            ("FILTER", {">ID": 0}),
            ("SELECT", list(select)),
        ),
    )


ENTRY_PAGE = 50  # the kernel caps NAV_PARAMS.nPageSize at 50


def entries_page(task_id: int, after_id: int, select: Sequence[str] = ENTRY_FIELDS) -> Call:
    """task.elapseditem.getlist: the next page (≤ 50) of one task's entries with an ID above `after_id`.

    Asked for when an unpaged list says there is more (`next`, or `total` above the rows sent): the
    docs cap every answer at 50 rows although the kernel sends all of one task's entries. Keyset paging
    (`>ID`, page 1) so entries added meanwhile cannot shift one out of view.
    https://apidocs.bitrix24.com/api-reference/tasks/elapsed-item/task-elapsed-item-get-list.html
    """
    return Call(
        "task.elapseditem.getlist",
        (
            ("TASKID", int(task_id)),
            ("ORDER", {"ID": "asc"}),
            ("FILTER", {">ID": max(0, int(after_id))}),
            ("SELECT", list(select)),
            ("PARAMS", {"NAV_PARAMS": {"nPageSize": ENTRY_PAGE, "iNumPage": 1}}),
        ),
    )


def entries_after(last_id: int, newest_first: bool = False, page_size: int = ENTRY_PAGE) -> Call:
    """task.elapseditem.getlist across ALL tasks: one page of (ID, TASK_ID) of entries with ID > last_id.

    Adding a time entry fires no event and leaves the task's CHANGED_DATE alone, so new entries can only
    be found by listing entries. The documented all-tasks form sends no TASKID: the kernel sees an array
    first and puts TASKID=0 in front of it, so ORDER must be the first value sent. Paging is by the
    `>ID` filter with page 1 each time (keyset), not by iNumPage, so entries added meanwhile cannot
    shift one out of view. `newest_first` with page size 1 reads the newest entry's id.
    https://apidocs.bitrix24.com/api-reference/tasks/elapsed-item/task-elapsed-item-get-list.html
    """
    if not 0 < page_size <= ENTRY_PAGE:
        raise ValueError(f"page size must be 1..{ENTRY_PAGE}")
    return Call(
        "task.elapseditem.getlist",
        (
            ("ORDER", {"ID": "desc" if newest_first else "asc"}),
            ("FILTER", {">ID": max(0, int(last_id))}),
            ("SELECT", ["ID", "TASK_ID"]),
            ("PARAMS", {"NAV_PARAMS": {"nPageSize": int(page_size), "iNumPage": 1}}),
        ),
    )


def entries_created_since(since: datetime, after_id: int, page: int = 1) -> Call:
    """task.elapseditem.getlist across ALL tasks: page `page` (50 rows, 1-based) of the entries created at
    or after `since` with an id above `after_id`, lowest id first, every field rules can read.

    The edit rescan's read: an entry edited in place keeps its id and fires no event, so recent entries
    are read again. Same positional trap as `entries_after`: no TASKID, ORDER first (the kernel puts
    TASKID=0, "all tasks", in front of a leading array). Pages of one `>ID` boundary can go into one
    batch; the boundary moves between batches, so entries deleted meanwhile shift nothing out of view.
    https://apidocs.bitrix24.com/api-reference/tasks/elapsed-item/task-elapsed-item-get-list.html
    """
    if page < 1:
        raise ValueError("pages are numbered from 1")
    return Call(
        "task.elapseditem.getlist",
        (
            ("ORDER", {"ID": "asc"}),
            ("FILTER", {">=CREATED_DATE": _iso(since), ">ID": max(0, int(after_id))}),
            ("SELECT", list(ENTRY_FIELDS)),
            ("PARAMS", {"NAV_PARAMS": {"nPageSize": ENTRY_PAGE, "iNumPage": int(page)}}),
        ),
    )


def entry_get(task_id: int, item_id: int) -> Call:
    """task.elapseditem.get (TASKID before ITEMID).

    https://apidocs.bitrix24.com/api-reference/tasks/elapsed-item/task-elapsed-item-get.html
    """
    return Call("task.elapseditem.get", (("TASKID", int(task_id)), ("ITEMID", int(item_id))))


def entry_delete(task_id: int, item_id: int) -> Call:
    """task.elapseditem.delete (TASKID before ITEMID, always; `result: null` on success).

    https://apidocs.bitrix24.com/api-reference/tasks/elapsed-item/task-elapsed-item-delete.html
    """
    return Call("task.elapseditem.delete", (("TASKID", int(task_id)), ("ITEMID", int(item_id))))


def entry_add(
    task_id: int,
    seconds: int,
    comment: str,
    user_id: int | None = None,
    created_date: datetime | None = None,
) -> Call:
    """task.elapseditem.add: TASKID, then ARFIELDS {SECONDS, COMMENT_TEXT, USER_ID, CREATED_DATE}.

    Used by `restore`; the answer is the new entry's ID.
    https://apidocs.bitrix24.com/api-reference/tasks/elapsed-item/task-elapsed-item-add.html
    """
    fields: dict[str, object] = {"SECONDS": int(seconds), "COMMENT_TEXT": str(comment)}
    if user_id is not None:
        fields["USER_ID"] = int(user_id)
    if created_date is not None:
        fields["CREATED_DATE"] = _iso(created_date)
    return Call("task.elapseditem.add", (("TASKID", int(task_id)), ("ARFIELDS", fields)))
