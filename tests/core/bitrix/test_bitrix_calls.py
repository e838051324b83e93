"""Builders put every parameter in the order the server reads it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from service.core.bitrix import (
    entries_after,
    entries_list,
    entry_add,
    entry_delete,
    entry_get,
    status_history,
    task_get,
    task_list_changed,
)


def keys(call: object) -> list[str]:
    return [key for key, _ in call.params]  # type: ignore[attr-defined]


def test_entry_delete_and_get_send_taskid_before_itemid() -> None:
    for build in (entry_delete, entry_get):
        call = build(691, 5)
        assert call.params == (("TASKID", 691), ("ITEMID", 5))
    assert entry_delete(691, 5).method == "task.elapseditem.delete"


def test_entries_list_starts_with_taskid_then_order_and_has_a_nonempty_filter() -> None:
    call = entries_list(691)
    assert call.method == "task.elapseditem.getlist"
    assert keys(call) == ["TASKID", "ORDER", "FILTER", "SELECT"]
    assert call.param("TASKID") == 691
    assert call.param("ORDER") == {"ID": "asc"}
    assert call.param("FILTER")  # an empty FILTER would vanish from a query string
    assert "ID" in call.param("SELECT")  # type: ignore[operator]


def test_entry_add_fields_in_documented_order() -> None:
    when = datetime(2025, 3, 1, 9, 30, tzinfo=timezone(timedelta(hours=2)))
    call = entry_add(7, 60, "x", user_id=3, created_date=when)
    assert keys(call) == ["TASKID", "ARFIELDS"]
    assert call.param("ARFIELDS") == {
        "SECONDS": 60,
        "COMMENT_TEXT": "x",
        "USER_ID": 3,
        "CREATED_DATE": "2025-03-01T09:30:00+02:00",
    }
    assert entry_add(7, 60, "x").param("ARFIELDS") == {"SECONDS": 60, "COMMENT_TEXT": "x"}


def test_task_get() -> None:
    call = task_get(691, ["ID", "STATUS"])
    assert (call.method, call.params) == ("tasks.task.get", (("taskId", 691), ("select", ["ID", "STATUS"])))


def test_status_history_has_explicit_newest_first_order() -> None:
    call = status_history(691)
    assert call.method == "tasks.task.history.list"
    assert call.param("filter") == {"FIELD": "STATUS"}
    assert call.param("order") == {"CREATED_DATE": "DESC"}


def test_task_list_changed() -> None:
    call = task_list_changed(datetime(2025, 1, 1, tzinfo=UTC), 50)
    assert call.method == "tasks.task.list"
    assert call.param("filter") == {">=CHANGED_DATE": "2025-01-01T00:00:00+00:00"}
    assert call.param("order") == {"CHANGED_DATE": "asc", "ID": "asc"}
    assert call.param("select") == ["ID", "CHANGED_DATE"]
    assert call.param("start") == 50


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="offset"):
        task_list_changed(datetime(2025, 1, 1), 0)


def test_entries_after_lists_all_tasks_with_order_first_and_pages_by_id() -> None:
    call = entries_after(120)
    # No TASKID: the kernel reads a leading array as "TASKID=0, all tasks" — ORDER must come first.
    assert keys(call) == ["ORDER", "FILTER", "SELECT", "PARAMS"]
    assert call.method == "task.elapseditem.getlist"
    assert call.param("ORDER") == {"ID": "asc"}
    assert call.param("FILTER") == {">ID": 120}
    assert call.param("PARAMS") == {"NAV_PARAMS": {"nPageSize": 50, "iNumPage": 1}}
    newest = entries_after(0, newest_first=True, page_size=1)
    assert (newest.param("ORDER"), newest.param("PARAMS")) == (
        {"ID": "desc"},
        {"NAV_PARAMS": {"nPageSize": 1, "iNumPage": 1}},
    )
    with pytest.raises(ValueError, match="page size"):
        entries_after(0, page_size=51)
