"""``task.elapseditem.*``: the legacy time-entry methods with POSITIONAL parameters.

The kernel (CTaskRestService::__callStatic/_parseRestParams) drops key names and reads values in
order, type-checking each against the method manifest; for ``getlist`` a leading array means
"TASKID=0, all tasks". ``delete`` loads the item by ITEMID alone and checks only admin-or-author.
Docs: https://apidocs.bitrix24.com/api-reference/tasks/elapsed-item/index.html
"""

from __future__ import annotations

from typing import Any

from . import errors
from .errors import core_error
from .filters import matches, sort_records, split_key
from .model import Entry
from .params import as_list, is_array, php_int, positional
from .registry import Call, Outcome, method

PAGE_LIMIT = 50
SORTABLE = {"ID", "TASK_ID", "USER_ID", "SECONDS", "MINUTES", "CREATED_DATE", "DATE_START", "DATE_STOP"}
FILTERABLE = {"ID", "TASK_ID", "USER_ID", "CREATED_DATE"}


def _args(values: list[Any], names: list[tuple[str, str]]) -> list[Any]:
    """Positional values checked against (name, "int"|"array") specs; missing → None."""
    out: list[Any] = []
    for index, (name, kind) in enumerate(names):
        value = values[index] if index < len(values) else None
        if kind == "int" and value is not None:
            value = None if is_array(value) else php_int(value)
            if value is None:
                raise core_error(
                    errors.WRONG_ARGUMENTS, f"Param #{index} ({name}) expected to be of type integer"
                )
        if kind == "array" and value not in (None, "") and not is_array(value):
            raise core_error(errors.WRONG_ARGUMENTS, f"Param #{index} ({name}) expected to be of type array")
        out.append(value)
    return out


def _require_task(call: Call, task_id: int | None) -> int:
    if task_id is None or call.portal.get_task(task_id) is None:
        raise core_error(errors.TASK_NOT_FOUND)
    return task_id


def _allowed(call: Call, entry: Entry) -> bool:
    """Kernel isActionAllowed for modify/remove: portal admin or the entry's author."""
    return call.webhook.admin or entry.user_id == call.webhook.user_id


@method("task.elapseditem.getlist")
def getlist(call: Call) -> Outcome:
    values = positional(call.params)
    if values and is_array(values[0]):  # kernel: a leading array means TASKID=0, "all tasks"
        values.insert(0, 0)
    task_id, order, filt, select, params = _args(
        values, [("taskId", "int"), ("arOrder", "array"), ("arFilter", "array"), ("arSelect", "array"),
               ("arParams", "array")]
    )  # fmt: skip
    task_id = task_id or 0
    if task_id:
        _require_task(call, task_id)
    filt = filt if isinstance(filt, dict) else {}
    for key in filt:
        if split_key(str(key))[1] not in FILTERABLE:
            raise core_error(errors.WRONG_ARGUMENTS, f"Field {key} is not filterable")
    records = [e.rest() for e in call.portal.entries_of(task_id or None)]
    records = [r for r in records if matches(r, filt, call.portal.tz, {})]
    sort_records(records, order if isinstance(order, dict) else {}, call.portal.tz, SORTABLE)
    nav = params.get("NAV_PARAMS") if isinstance(params, dict) else None
    if isinstance(nav, dict):
        size = min(max(php_int(nav.get("nPageSize")) or PAGE_LIMIT, 1), PAGE_LIMIT)
        page = max(php_int(nav.get("iNumPage")) or 1, 1)
        shown = records[(page - 1) * size : page * size]
    else:
        shown = records if task_id else records[:PAGE_LIMIT]
    fields = [str(s).upper() for s in as_list(select)]
    if fields and "*" not in fields:
        shown = [{k: v for k, v in r.items() if k in fields} for r in shown]
    return Outcome(shown, total=len(records))


def _item(call: Call, item_id: int | None) -> Entry:
    entry = call.portal.entries.get(item_id) if item_id is not None else None
    if entry is None:
        raise core_error(errors.ITEM_NOT_FOUND, f"item #{item_id}")
    return entry


@method("task.elapseditem.get")
def get(call: Call) -> Outcome:
    task_id, item_id = _args(positional(call.params), [("taskId", "int"), ("itemId", "int")])
    _require_task(call, task_id)
    entry = _item(call, item_id)
    if entry.task_id != task_id:
        raise core_error(errors.ITEM_NOT_FOUND, f"item #{item_id}")
    return Outcome(entry.rest())


@method("task.elapseditem.add")
def add(call: Call) -> Outcome:
    task_id, fields = _args(positional(call.params), [("taskId", "int"), ("arFields", "array")])
    task_id = _require_task(call, task_id)
    fields = fields if isinstance(fields, dict) else {}
    seconds = php_int(fields.get("SECONDS"))
    if seconds is None and php_int(fields.get("MINUTES")) is not None:
        seconds = (php_int(fields.get("MINUTES")) or 0) * 60
    if seconds is None or seconds < 0:
        raise core_error(errors.WRONG_ARGUMENTS, "SECONDS is required")
    user_id = php_int(fields.get("USER_ID")) or call.webhook.user_id
    if user_id != call.webhook.user_id and not call.webhook.admin:
        raise core_error(errors.ACTION_NOT_ALLOWED)
    entry = call.portal.add_entry(
        task_id, seconds, user_id=user_id, comment=str(fields.get("COMMENT_TEXT") or ""),
        created_date=fields.get("CREATED_DATE"), source=2,
    )  # fmt: skip
    return Outcome(entry.id)


@method("task.elapseditem.delete")
def delete(call: Call) -> Outcome:
    _task_id, item_id = _args(positional(call.params), [("taskId", "int"), ("itemId", "int")])
    with call.portal.lock:
        entry = _item(call, item_id)  # by ITEMID only: the TASKID is not compared (kernel behaviour)
        if not _allowed(call, entry):
            raise core_error(errors.ACTION_NOT_ALLOWED)
        call.portal.delete_entry(entry.id, user_id=call.webhook.user_id)
    return Outcome(None)


@method("task.elapseditem.isactionallowed")
def is_action_allowed(call: Call) -> Outcome:
    task_id, item_id, action = _args(
        positional(call.params), [("taskId", "int"), ("itemId", "int"), ("actionId", "int")]
    )
    _require_task(call, task_id)
    if action == 1:
        return Outcome(True)
    return Outcome(_allowed(call, _item(call, item_id)))
