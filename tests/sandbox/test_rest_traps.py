"""The traps of the real API, as a client notices them."""

from __future__ import annotations

from service.sandbox import SandboxServer

from .conftest import Client, FakeClock


def entry_ids(client: Client, task_id: int) -> list[str]:
    body = client.call("task.elapseditem.getlist", {"TASKID": task_id, "ORDER": {"ID": "asc"}}).json()
    return [e["ID"] for e in body["result"]]


def test_delete_reads_params_by_position_not_by_name(client: Client, sandbox: SandboxServer) -> None:
    victim = sandbox.portal.create_task("other", task_id=5)
    for _ in range(3):
        sandbox.portal.add_entry(victim.id, 10)
    target = sandbox.portal.add_entry(691, 120)  # the entry the client means to delete
    # keys out of order: read as TASKID=<entry id>, ITEMID=691 → item 691 does not exist
    response = client.call("task.elapseditem.delete", {"ITEMID": target.id, "TASKID": 691})
    assert response.status_code == 400
    assert "NOT_FOUND" in response.json()["error_description"]
    assert target.id in sandbox.portal.entries
    # the same values in the documented order work
    response = client.call("task.elapseditem.delete", {"TASKID": 691, "ITEMID": target.id})
    assert response.status_code == 200
    assert target.id not in sandbox.portal.entries


def test_out_of_order_delete_hits_an_unrelated_entry(client: Client, sandbox: SandboxServer) -> None:
    other = sandbox.portal.create_task("other", task_id=700)
    unrelated = sandbox.portal.add_entry(other.id, 10)
    # client wants task 691 / item <n>, sends ITEMID first: the server deletes item <TASKID value>
    response = client.call("task.elapseditem.delete", {"ITEMID": 691, "TASKID": unrelated.id})
    assert response.status_code == 200
    assert unrelated.id not in sandbox.portal.entries  # the kernel does not compare TASK_ID


def test_delete_returns_null_result(client: Client) -> None:
    first = entry_ids(client, 691)[0]
    body = client.call("task.elapseditem.delete", {"TASKID": 691, "ITEMID": int(first)}).json()
    assert "result" in body
    assert body["result"] is None
    assert set(body["time"]) == {
        "start", "finish", "duration", "processing", "date_start", "date_finish", "operating_reset_at",
        "operating",
    }  # fmt: skip


def test_numbers_arrive_as_strings(client: Client) -> None:
    task = client.call("tasks.task.get", {"taskId": 691, "select": ["ID", "STATUS", "TIME_SPENT_IN_LOGS"]})
    fields = task.json()["result"]["task"]
    assert fields == {"id": "691", "status": "3", "timeSpentInLogs": "3660"}
    entry = client.call("task.elapseditem.getlist", {"TASKID": 691}).json()["result"][3]
    assert entry["SECONDS"] == "3600"
    assert entry["MINUTES"] == "60"
    assert entry["TASK_ID"] == "691"
    assert entry["CREATED_DATE"] == "2025-09-26T10:00:00+03:00"


def test_task_get_shapes(client: Client) -> None:
    open_task = client.call("tasks.task.get", {"taskId": 691, "select": ["CLOSED_DATE", "TAGS"]}).json()
    assert open_task["result"]["task"]["closedDate"] is None
    assert open_task["result"]["task"]["tags"] == {"1": {"id": "1", "title": "report"}}
    closed = client.call("tasks.task.get", {"taskId": 693, "select": ["*"]}).json()["result"]["task"]
    assert closed["closedDate"] == "2025-09-26T10:00:00+03:00"
    assert closed["closedBy"] == "503"
    assert "statusChangedDate" in closed
    assert "changedDate" in closed
    assert client.call("tasks.task.get", {"taskId": 999}).json()["result"] == []


def test_form_body_with_php_keys_and_json_suffix(client: Client) -> None:
    body = {"taskId": "691", "select[]": ["ID", "STATUS"]}
    response = client.call("tasks.task.get.json", data=body)
    assert response.json()["result"]["task"] == {"id": "691", "status": "3"}
    listed = client.call("task.elapseditem.getlist", data={"TASKID": "691", "ORDER[ID]": "desc"}).json()
    assert [e["SECONDS"] for e in listed["result"]] == ["3600", "60", "0", "0"]


def test_getlist_leading_array_means_all_tasks(client: Client, sandbox: SandboxServer) -> None:
    # FILTER sent first is read as ORDER, with TASKID=0 in front: every task's entries come back
    body = client.call("task.elapseditem.getlist", {"FILTER": {"TASK_ID": 693}}).json()
    assert {e["TASK_ID"] for e in body["result"]} == {"691", "693"}
    exact = client.call("task.elapseditem.getlist", {"TASKID": 0, "ORDER": {}, "FILTER": {"TASK_ID": 693}})
    assert {e["TASK_ID"] for e in exact.json()["result"]} == {"693"}


def test_getlist_paging(client: Client, sandbox: SandboxServer) -> None:
    for _ in range(60):
        sandbox.portal.add_entry(691, 1)
    everything = client.call("task.elapseditem.getlist", {"TASKID": 691, "ORDER": {"ID": "asc"}}).json()
    assert len(everything["result"]) == 64
    assert everything["total"] == 64
    nav = {"NAV_PARAMS": {"nPageSize": 500, "iNumPage": 2}}
    body = {"TASKID": 691, "ORDER": {"ID": "asc"}, "FILTER": {}, "SELECT": ["ID"], "PARAMS": nav}
    page = client.call("task.elapseditem.getlist", body).json()
    assert len(page["result"]) == 14  # page size capped at 50: the second page holds the rest
    assert page["result"][0] == {"ID": everything["result"][50]["ID"]}


def test_add_entry_updates_time_but_not_changed_date(client: Client, clock: FakeClock) -> None:
    before = client.call("tasks.task.get", {"taskId": 691}).json()["result"]["task"]
    clock.advance(3600)
    fields = {"SECONDS": 90, "COMMENT_TEXT": "late", "USER_ID": 503, "SOURCE": 3}
    new_id = client.call("task.elapseditem.add", {"TASKID": 691, "ARFIELDS": fields}).json()["result"]
    assert isinstance(new_id, int)
    item = client.call("task.elapseditem.get", {"TASKID": 691, "ITEMID": new_id}).json()["result"]
    assert item["SOURCE"] == "2"
    assert item["MINUTES"] == "2"
    after = client.call("tasks.task.get", {"taskId": 691}).json()["result"]["task"]
    assert after["timeSpentInLogs"] == "3750"
    assert after["changedDate"] == before["changedDate"]
    history = client.call(
        "tasks.task.history.list", {"taskId": 691, "filter": {"FIELD": "TIME_SPENT_IN_LOGS"}}
    )
    assert history.json()["result"]["list"][-1]["value"] == {"from": "3660", "to": "3750"}


def test_history_defaults_to_oldest_first(client: Client, sandbox: SandboxServer, clock: FakeClock) -> None:
    clock.advance(60)
    sandbox.portal.set_status(693, "renew", user_id=1)
    rows = client.call("tasks.task.history.list", {"taskId": 693, "filter": {"FIELD": "STATUS"}}).json()
    assert [r["value"] for r in rows["result"]["list"]] == [
        {"from": "2", "to": "5"},
        {"from": "5", "to": "2"},
    ]
    newest = client.call(
        "tasks.task.history.list", {"taskId": 693, "filter": {"FIELD": "STATUS"}, "order": {"ID": "desc"}}
    ).json()["result"]["list"][0]
    assert newest["value"] == {"from": "5", "to": "2"}
    assert newest["createdDate"] == "2025-09-26T10:01:00+03:00"
    assert newest["user"]["login"] == "admin"
    task = client.call("tasks.task.get", {"taskId": 693, "select": ["CLOSED_DATE", "CLOSED_BY"]}).json()
    assert task["result"]["task"] == {"id": "693", "closedDate": None, "closedBy": "0"}


def test_task_list_filter_prefixes_and_paging(
    client: Client, sandbox: SandboxServer, clock: FakeClock
) -> None:
    for n in range(60):
        clock.advance(1)
        sandbox.portal.create_task(f"t{n}", task_id=1000 + n)
    body = {
        "filter": {">CHANGED_DATE": "2025-09-26T10:00:30+03:00"},
        "select": ["ID"],
        "order": {"ID": "asc"},
    }
    first = client.call("tasks.task.list", body).json()
    assert first["total"] == 30
    assert first["result"]["tasks"][0] == {"id": "1030"}
    paged = client.call("tasks.task.list", {"filter": {">=ID": 1000}, "select": ["ID"], "start": 50}).json()
    assert paged["total"] == 60
    assert len(paged["result"]["tasks"]) == 10
    assert "next" not in paged
    assert client.call("tasks.task.list", {"filter": {">=ID": 1000}}).json()["next"] == 50


def test_wrong_webhook_code_is_401(client: Client, sandbox: SandboxServer) -> None:
    response = client.call("tasks.task.get", {"taskId": 691}, base=sandbox.webhook_url_for(1, "nope"))
    assert response.status_code == 401
    assert response.json()["error"] == "NO_AUTH_FOUND"
    assert client.call("no.such.method", {}).json()["error"] == "ERROR_METHOD_NOT_FOUND"
