"""``tasks.task.get``, ``tasks.task.list`` and ``tasks.task.history.list`` (named parameters).

Docs: https://apidocs.bitrix24.com/api-reference/tasks/tasks-task-get.html, tasks-task-list.html,
tasks-task-history-list.html. A missing task is ``"result": []`` (get) or ``{"list": []}`` (history);
so is a task a non-admin webhook user cannot see (only its members see it), and the list leaves it out.
"""

from __future__ import annotations

from typing import Any

from . import scan
from .errors import ApiError
from .filters import matches, sort_records
from .model import Task, iso, upper_snake
from .params import as_list, get_ci, php_int
from .registry import Call, Outcome, method

PAGE_SIZE = 50
TASK_ALIASES = {"REAL_STATUS": "STATUS"}
HISTORY_SORTS = {"USER_ID", "FIELD", "TASK_ID"}
TASK_FIELDS = {"ID", "CREATED_DATE", "CHANGED_DATE"}  # of scan.ATTRIBUTES, the ones a task has


def _task_id(call: Call) -> int:
    raw = get_ci(call.params, "taskId")
    if raw is None:
        raise ApiError(400, "100", "Could not find value for parameter {taskId}")
    value = php_int(raw)
    if value is None:
        raise ApiError(400, "0", "wrong task id")
    return value


@method("tasks.task.get")
def task_get(call: Call) -> Outcome:
    task = call.portal.get_task(_task_id(call))
    if task is None or not call.portal.can_see(call.webhook, task):
        return Outcome([])
    return Outcome({"task": task.rest(as_list(get_ci(call.params, "select")))})


def _conditions(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


@method("tasks.task.list")
def task_list(call: Call) -> Outcome:
    portal = call.portal
    with portal.lock:
        tasks: list[Task] = [t for t in portal.tasks.values() if portal.can_see(call.webhook, t)]
    filt = _conditions(get_ci(call.params, "filter"))
    order = _conditions(get_ci(call.params, "order")) or {"ID": "asc"}
    fast = scan.plan(filt, order, portal.tz, TASK_FIELDS)
    if fast is not None:  # ranges on indexed fields: no task is serialised but those on the page
        records: list[Task] = fast.select(tasks)
    else:
        rows = [(t.fields(), t) for t in tasks]
        rows = [(f, t) for f, t in rows if matches(f, filt, portal.tz, TASK_ALIASES)]
        by_id = {f["ID"]: t for f, t in rows}
        fields = [f for f, _ in rows]
        sort_records(fields, order, portal.tz, set(fields[0]) if fields else set())
        records = [by_id[f["ID"]] for f in fields]
    start = php_int(get_ci(call.params, "start", 0)) or 0
    select = as_list(get_ci(call.params, "select"))
    page = records[max(start, 0) : max(start, 0) + PAGE_SIZE]
    result = {"tasks": [task.rest(select) for task in page]}
    if start == -1:  # documented fast path: no count, no next
        return Outcome(result)
    more = max(start, 0) + PAGE_SIZE < len(records)
    return Outcome(result, total=len(records), next=max(start, 0) + PAGE_SIZE if more else None)


@method("tasks.task.history.list")
def history_list(call: Call) -> Outcome:
    portal = call.portal
    task_id = _task_id(call)
    if not portal.can_see(call.webhook, portal.get_task(task_id)):
        return Outcome({"list": []})
    rows = portal.history_of(task_id)
    records: list[dict[str, Any]] = [
        {
            "ID": r.id,
            "FIELD": r.field,
            "USER_ID": r.user_id,
            "TASK_ID": r.task_id,
            "CREATED_DATE": iso(r.created_date),
        }
        for r in rows
    ]
    records = [r for r in records if matches(r, _conditions(get_ci(call.params, "filter")), portal.tz, {})]
    # Kernel CTaskLog::GetList: default CREATED_DATE ASC; any key but USER_ID/FIELD/TASK_ID sorts by date.
    order: dict[str, Any] = {}
    for key, direction in _conditions(get_ci(call.params, "order")).items():
        name = upper_snake(str(key))
        order[name if name in HISTORY_SORTS else "CREATED_DATE"] = direction
    order = order or {"CREATED_DATE": "asc"}
    descending = str(next(iter(order.values()))).lower() == "desc"
    records.sort(key=lambda r: r["ID"], reverse=descending)  # ties keep insertion order
    sort_records(records, order, portal.tz, HISTORY_SORTS | {"CREATED_DATE"})
    by_id = {r.id: r for r in rows}
    return Outcome({"list": [_history_rest(call, by_id[rec["ID"]]) for rec in records]})


def _history_rest(call: Call, row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "createdDate": iso(row.created_date),
        "field": row.field,
        "value": {"from": row.value_from, "to": row.value_to},
        "user": call.portal.user(row.user_id).rest(),
    }
