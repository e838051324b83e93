"""``task.elapseditem.*``: the legacy time-entry methods with POSITIONAL parameters.

The kernel (CTaskRestService::__callStatic/_parseRestParams) drops key names and reads values in
order, type-checking each against the method manifest; for ``getlist`` a leading array means
"TASKID=0, all tasks". ``delete`` loads the item by ITEMID alone and checks only admin-or-author.
What a non-admin cannot see does not exist for them (kernel CTaskElapsedItem, CTaskSubItemAbstract):
``getlist`` of such a task fails #1 (task not found), ``get``/``update``/``delete`` fail #512 (item not
found), and the all-tasks list leaves their entries out.
Docs: https://apidocs.bitrix24.com/api-reference/tasks/elapsed-item/index.html
"""

from __future__ import annotations

from typing import Any

from . import errors, scan
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
    if task_id is None or not call.portal.can_see(call.webhook, call.portal.get_task(task_id)):
        raise core_error(errors.TASK_NOT_FOUND)
    return task_id


def _visible_entries(call: Call, task_id: int) -> list[Entry]:
    portal = call.portal
    if task_id:
        return portal.entries_of(task_id)
    return [e for e in portal.entries_of(None) if portal.can_see(call.webhook, portal.get_task(e.task_id))]


def _page(call: Call, records: list[Any], nav: Any, by_task: bool) -> tuple[list[Any], int]:
    """The rows this answer shows and their offset: NAV_PARAMS pages of ≤ 50, else all rows of one task
    (kernel) or the first 50 (all tasks; one task too when ``elapsed_page_cap`` follows the docs)."""
    if isinstance(nav, dict):
        size = min(max(php_int(nav.get("nPageSize")) or PAGE_LIMIT, 1), PAGE_LIMIT)
        offset = (max(php_int(nav.get("iNumPage")) or 1, 1) - 1) * size
        return records[offset : offset + size], offset
    if by_task and not call.portal.config.elapsed_page_cap:
        return records, 0
    return records[:PAGE_LIMIT], 0


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
    order = order if isinstance(order, dict) else {}
    visible = _visible_entries(call, task_id)
    nav = params.get("NAV_PARAMS") if isinstance(params, dict) else None
    fast = scan.plan(filt, order, call.portal.tz, FILTERABLE & SORTABLE)
    if fast is not None:  # the page is chosen first, and only its rows are serialised
        records: list[Any] = fast.select(visible)
        shown, offset = _page(call, records, nav, bool(task_id))
        shown = [e.rest() for e in shown]
    else:
        records = [r for r in (e.rest() for e in visible) if matches(r, filt, call.portal.tz, {})]
        sort_records(records, order, call.portal.tz, SORTABLE)
        shown, offset = _page(call, records, nav, bool(task_id))
    fields = [str(s).upper() for s in as_list(select)]
    if fields and "*" not in fields:
        shown = [{k: v for k, v in r.items() if k in fields} for r in shown]
    after = offset + len(shown)
    return Outcome(shown, total=len(records), next=after if after < len(records) else None)


def _item(call: Call, task_id: int | None, item_id: int | None) -> Entry:
    """The entry ``item_id``, read through task ``task_id``: the kernel first checks the caller can
    read that task, then loads the item by its id alone; either failing is #512."""
    portal = call.portal
    visible = task_id is not None and portal.can_see(call.webhook, portal.get_task(task_id))
    entry = portal.entries.get(item_id) if item_id is not None and visible else None
    if entry is None:
        raise core_error(errors.ITEM_NOT_FOUND)
    return entry


@method("task.elapseditem.get")
def get(call: Call) -> Outcome:
    task_id, item_id = _args(positional(call.params), [("taskId", "int"), ("itemId", "int")])
    entry = _item(call, task_id, item_id)
    if entry.task_id != task_id:
        raise core_error(errors.ITEM_NOT_FOUND)
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
        created_date=fields.get("CREATED_DATE"),
    )  # fmt: skip
    return Outcome(entry.id)


UPDATABLE = {"MINUTES", "SECONDS", "COMMENT_TEXT", "CREATED_DATE"}  # kernel CTaskElapsedItem::update


@method("task.elapseditem.update")
def update(call: Call) -> Outcome:
    """Edit an entry in place: same id, no event, the task's changedDate untouched."""
    task_id, item_id, fields = _args(
        positional(call.params), [("taskId", "int"), ("itemId", "int"), ("arFields", "array")]
    )
    fields = fields if isinstance(fields, dict) else {}
    with call.portal.lock:
        entry = _item(call, task_id, item_id)
        if not fields:
            return Outcome(None)
        if not _allowed(call, entry):
            raise core_error(errors.ACTION_NOT_ALLOWED)
        unknown = sorted(set(fields) - UPDATABLE)
        if unknown:
            raise core_error(errors.WRONG_ARGUMENTS, f"Field(s) {', '.join(unknown)} cannot be updated")
        call.portal.update_entry(
            entry.id, seconds=_new_seconds(fields), user_id=call.webhook.user_id,
            comment=None if "COMMENT_TEXT" not in fields else str(fields["COMMENT_TEXT"] or ""),
            created_date=fields.get("CREATED_DATE"),
        )  # fmt: skip
    return Outcome(None)


def _new_seconds(fields: dict[str, Any]) -> int | None:
    """SECONDS, or MINUTES * 60; both at once is refused (the kernel asserts against it)."""
    if "SECONDS" in fields and "MINUTES" in fields:
        raise core_error(errors.WRONG_ARGUMENTS, "Give SECONDS or MINUTES, not both")
    if "SECONDS" not in fields and "MINUTES" not in fields:
        return None
    value = php_int(fields.get("SECONDS", fields.get("MINUTES")))
    if value is None or value < 0:
        raise core_error(errors.WRONG_ARGUMENTS, "SECONDS/MINUTES must be a non-negative integer")
    return value if "SECONDS" in fields else value * 60


@method("task.elapseditem.delete")
def delete(call: Call) -> Outcome:
    task_id, item_id = _args(positional(call.params), [("taskId", "int"), ("itemId", "int")])
    with call.portal.lock:
        entry = _item(call, task_id, item_id)  # by ITEMID: the item's own task is not compared (kernel)
        if not _allowed(call, entry):
            raise core_error(errors.ACTION_NOT_ALLOWED)
        call.portal.delete_entry(entry.id, user_id=call.webhook.user_id)
    return Outcome(None)


@method("task.elapseditem.isactionallowed")
def is_action_allowed(call: Call) -> Outcome:
    task_id, item_id, action = _args(
        positional(call.params), [("taskId", "int"), ("itemId", "int"), ("actionId", "int")]
    )
    if action == 1:
        return Outcome(call.portal.can_see(call.webhook, call.portal.get_task(task_id or 0)))
    return Outcome(_allowed(call, _item(call, task_id, item_id)))
