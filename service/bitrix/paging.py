"""Complete lists: a list answer is trusted only when it says it is whole.

The getlist docs cap every answer at 50 rows while the kernel sends all of one task's entries when no
NAV_PARAMS are given; `tasks.task.list` always pages by 50. So whenever an answer says more rows exist
(`next`, or a `total` above the rows seen), or says nothing and is a full page, the rest is read
page by page before anything is decided on the list.
https://apidocs.bitrix24.com/api-reference/tasks/elapsed-item/task-elapsed-item-get-list.html
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

from service.core.bitrix import (
    ENTRY_PAGE,
    MAX_COMMANDS,
    BitrixError,
    Call,
    Reply,
    TransientError,
    entries_page,
)

Run = Callable[[list[dict[str, Call]]], Iterator[tuple[dict[str, Call], Mapping[str, Reply | BitrixError]]]]
Rows = list[dict[str, Any]]


def more_rows(reply: Reply, shown: int, page: int = ENTRY_PAGE) -> bool:
    """Whether rows beyond the `shown` ones exist, by what the answer says about itself."""
    if reply.next is not None:
        return True
    if reply.total is not None:
        return reply.total > shown
    return shown >= page  # silent about paging and a full page: never take it as the whole list


def complete_entries(run: Run, started: Mapping[int, Rows]) -> dict[int, Rows | BitrixError]:
    """Read the rest of each task's entries after the rows in `started`, tasks sharing batches.

    A task whose next page fails gets the error instead of a partial list."""
    rows: dict[int, Rows | BitrixError] = {task_id: list(found) for task_id, found in started.items()}
    pending = set(started)
    while pending:
        calls = {f"p{task_id}": entries_page(task_id, _last_id(rows[task_id])) for task_id in pending}
        groups = [dict(list(calls.items())[i : i + MAX_COMMANDS]) for i in range(0, len(calls), MAX_COMMANDS)]
        pending = set()
        for sent, answers in run(groups):
            for key in sent:
                task_id, answer = int(key[1:]), answers[key]
                if _extend(rows, task_id, answer):
                    pending.add(task_id)
    return rows


def _extend(rows: dict[int, Rows | BitrixError], task_id: int, answer: Reply | BitrixError) -> bool:
    """Add one page to the task's rows; True when yet another page is needed."""
    found = rows[task_id]
    if isinstance(answer, BitrixError) or isinstance(found, BitrixError):
        rows[task_id] = answer if isinstance(answer, BitrixError) else found
        return False
    page = [r for r in answer.result if isinstance(r, dict)] if isinstance(answer.result, list) else []
    fresh = [r for r in page if _id(r) > _last_id(found)]
    if page and not fresh:  # the portal ignored the >ID filter: paging would never end
        rows[task_id] = TransientError(
            "ERROR_UNEXPECTED_ANSWER", "a page repeated rows already read", 200, "task.elapseditem.getlist"
        )
        return False
    found.extend(fresh)
    return bool(fresh) and more_rows(answer, len(page))


def _id(row: Mapping[str, Any]) -> int:
    try:
        return int(str(row.get("ID")))
    except ValueError:
        return 0


def _last_id(rows: Rows | BitrixError) -> int:
    return max((_id(r) for r in rows), default=0) if isinstance(rows, list) else 0
