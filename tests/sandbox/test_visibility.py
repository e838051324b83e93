"""A non-admin webhook sees only the tasks its user is a member of; the rest do not exist for it."""

from __future__ import annotations

import pytest

from service.sandbox import SandboxServer

from .conftest import Client


@pytest.fixture
def outsider(sandbox: SandboxServer) -> str:
    """The base URL of a webhook of user 77: no admin, member of no demo task."""
    sandbox.portal.add_webhook(77, "outsider", admin=False)
    return sandbox.webhook_url_for(77, "outsider")


def test_task_get_answers_empty_for_a_task_the_user_cannot_see(client: Client, outsider: str) -> None:
    assert client.call("tasks.task.get", {"taskId": 691}, base=outsider).json()["result"] == []
    assert client.call("tasks.task.get", {"taskId": 691}).json()["result"]["task"]["id"] == "691"


def test_members_see_the_task(client: Client, sandbox: SandboxServer) -> None:
    sandbox.portal.create_task("Shared", task_id=800, accomplices=[77], entries=[{"seconds": 5}])
    sandbox.portal.add_webhook(77, "member", admin=False)
    base = sandbox.webhook_url_for(77, "member")
    assert client.call("tasks.task.get", {"taskId": 800}, base=base).json()["result"]["task"]["id"] == "800"
    assert len(client.call("task.elapseditem.getlist", [800], base=base).json()["result"]) == 1


def test_getlist_of_an_invisible_task_fails_task_not_found(client: Client, outsider: str) -> None:
    response = client.call("task.elapseditem.getlist", {"TASKID": 691}, base=outsider)
    assert response.status_code == 400
    assert response.json()["error"] == "ERROR_CORE"
    assert response.json()["error_description"] == (
        "TASKS_ERROR_EXCEPTION_#1; Task not found or not accessible; "
        "1/TE/TASK_NOT_FOUND_OR_NOT_ACCESSIBLE<br>"
    )


def test_delete_in_an_invisible_task_fails_item_not_found_and_deletes_nothing(
    client: Client, sandbox: SandboxServer, outsider: str
) -> None:
    response = client.call("task.elapseditem.delete", {"TASKID": 691, "ITEMID": 1}, base=outsider)
    assert response.status_code == 400
    assert response.json()["error_description"].startswith("TASKS_ERROR_EXCEPTION_#512; ")
    assert "512/TE/ITEM_NOT_FOUND_OR_NOT_ACCESSIBLE" in response.json()["error_description"]
    assert 1 in sandbox.portal.entries


def test_get_and_update_in_an_invisible_task_fail_item_not_found(client: Client, outsider: str) -> None:
    got = client.call("task.elapseditem.get", {"TASKID": 691, "ITEMID": 1}, base=outsider)
    edited = client.call(
        "task.elapseditem.update", {"TASKID": 691, "ITEMID": 1, "ARFIELDS": {"SECONDS": 5}}, base=outsider
    )
    for response in (got, edited):
        assert "EXCEPTION_#512;" in response.json()["error_description"]


def test_lists_leave_invisible_tasks_out(client: Client, sandbox: SandboxServer, outsider: str) -> None:
    sandbox.portal.create_task(
        "Mine", task_id=801, responsible_id=77, entries=[{"seconds": 9, "user_id": 77}]
    )
    tasks = client.call("tasks.task.list", {"select": ["ID"]}, base=outsider).json()
    assert [t["id"] for t in tasks["result"]["tasks"]] == ["801"]
    assert tasks["total"] == 1
    entries = client.call("task.elapseditem.getlist", [{"ID": "asc"}, {}], base=outsider).json()
    assert [e["TASK_ID"] for e in entries["result"]] == ["801"]
    history = client.call("tasks.task.history.list", {"taskId": 691}, base=outsider).json()
    assert history["result"] == {"list": []}


def test_missing_item_is_item_not_found_for_an_admin_too(client: Client) -> None:
    response = client.call("task.elapseditem.delete", {"TASKID": 691, "ITEMID": 999})
    assert "TASKS_ERROR_EXCEPTION_#512;" in response.json()["error_description"]
