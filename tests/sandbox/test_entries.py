"""Time entries as the kernel writes them: edits in place, DATE_START/DATE_STOP, getlist paging."""

from __future__ import annotations

from typing import Any

from service.sandbox import SandboxServer, apply_config

from .conftest import Client, FakeClock


def _entry(client: Client, item_id: int) -> dict[str, Any]:
    result: dict[str, dict[str, Any]] = client.call(
        "task.elapseditem.get", {"TASKID": 691, "ITEMID": item_id}
    ).json()
    return result["result"]


def test_update_edits_in_place_without_an_event_or_a_task_change(
    client: Client, sandbox: SandboxServer
) -> None:
    task = sandbox.portal.get_task(691)
    assert task is not None
    changed, spent = task.changed_date, task.time_spent
    response = client.call(
        "task.elapseditem.update", {"TASKID": 691, "ITEMID": 4, "ARFIELDS": {"SECONDS": 0}}
    )
    assert response.status_code == 200
    assert response.json()["result"] is None
    assert _entry(client, 4)["SECONDS"] == "0"  # same id, new duration
    assert task.changed_date == changed
    assert task.time_spent == spent - 3600
    assert sandbox.portal.history_of(691)[-1].field == "TIME_SPENT_IN_LOGS"


def test_update_accepts_only_the_kernel_fields(client: Client) -> None:
    response = client.call(
        "task.elapseditem.update", {"TASKID": 691, "ITEMID": 4, "ARFIELDS": {"SECONDS": 5, "USER_ID": 503}}
    )
    assert response.status_code == 400
    assert "256/TE/WRONG_ARGUMENTS" in response.json()["error_description"]
    assert _entry(client, 4)["SECONDS"] == "3600"
    edited = {"MINUTES": 2, "COMMENT_TEXT": "fixed", "CREATED_DATE": "2025-09-20T09:00:00+03:00"}
    assert client.call("task.elapseditem.update", [691, 4, edited]).status_code == 200
    entry = _entry(client, 4)
    assert (entry["SECONDS"], entry["COMMENT_TEXT"]) == ("120", "fixed")
    assert entry["CREATED_DATE"] == "2025-09-20T09:00:00+03:00"


def test_only_an_admin_or_the_author_may_update(client: Client, sandbox: SandboxServer) -> None:
    sandbox.portal.add_webhook(503, "maria", admin=False)
    base = sandbox.webhook_url_for(503, "maria")
    others = {"TASKID": 691, "ITEMID": 2, "ARFIELDS": {"SECONDS": 9}}  # entry 2 is user 1's
    assert "ACTION_NOT_ALLOWED" in client.call("task.elapseditem.update", others, base=base).text
    own = {"TASKID": 691, "ITEMID": 1, "ARFIELDS": {"SECONDS": 9}}
    assert client.call("task.elapseditem.update", own, base=base).status_code == 200


def test_manual_entry_dates(client: Client, sandbox: SandboxServer, clock: FakeClock) -> None:
    # Back-dated by hand: CREATED_DATE is the given start; DATE_START = DATE_STOP = when it was written.
    fields = {"SECONDS": 3600, "COMMENT_TEXT": "yesterday", "CREATED_DATE": "2025-09-25T09:00:00+03:00"}
    item = client.call("task.elapseditem.add", {"TASKID": 691, "ARFIELDS": fields}).json()["result"]
    entry = _entry(client, item)
    assert entry["CREATED_DATE"] == "2025-09-25T09:00:00+03:00"
    assert entry["DATE_START"] == entry["DATE_STOP"] == "2025-09-26T10:00:00+03:00"
    assert entry["SOURCE"] == "2"


def test_timer_entry_dates(client: Client, sandbox: SandboxServer) -> None:
    # The timer writes CREATED_DATE = DATE_START = its start and DATE_STOP = start + seconds.
    created = client.control("POST", "/tasks/691/entries", {"seconds": 90, "timer": True}).json()
    entry = _entry(client, int(created["ID"]))
    assert entry["CREATED_DATE"] == entry["DATE_START"] == "2025-09-26T09:58:30+03:00"
    assert entry["DATE_STOP"] == "2025-09-26T10:00:00+03:00"
    assert entry["SOURCE"] == "3"


def _many(sandbox: SandboxServer, count: int) -> None:
    sandbox.portal.create_task("Busy", task_id=900, entries=[{"seconds": i} for i in range(count)])


def test_getlist_pages_say_total_and_next(client: Client, sandbox: SandboxServer) -> None:
    _many(sandbox, 120)
    nav = {"NAV_PARAMS": {"nPageSize": 50, "iNumPage": 2}}
    page = client.call("task.elapseditem.getlist", [900, {"ID": "asc"}, {}, ["ID"], nav]).json()
    assert (len(page["result"]), page["total"], page["next"]) == (50, 120, 100)
    nav["NAV_PARAMS"]["iNumPage"] = 3
    last = client.call("task.elapseditem.getlist", [900, {"ID": "asc"}, {}, ["ID"], nav]).json()
    assert (len(last["result"]), last["total"]) == (20, 120)
    assert "next" not in last


def test_getlist_of_one_task_is_whole_unless_the_docs_cap_is_on(
    client: Client, sandbox: SandboxServer
) -> None:
    _many(sandbox, 70)
    whole = client.call("task.elapseditem.getlist", [900, {"ID": "asc"}]).json()
    assert (len(whole["result"]), whole["total"]) == (70, 70)  # kernel: no NAV_PARAMS, every entry
    assert "next" not in whole
    apply_config(sandbox.portal, {"elapsed_page_cap": True})
    capped = client.call("task.elapseditem.getlist", [900, {"ID": "asc"}]).json()
    assert (len(capped["result"]), capped["total"], capped["next"]) == (50, 70, 50)  # the docs' 50
