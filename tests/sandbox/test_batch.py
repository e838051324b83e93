"""batch: HTTP 200 with per-command errors, the 50 limit, halt, $result references, nesting."""

from __future__ import annotations

from service.sandbox import SandboxServer

from .conftest import Client


def test_failing_subcommands_still_answer_200(client: Client) -> None:
    cmd = {
        "ok": "task.elapseditem.getlist?TASKID=691&ORDER[ID]=asc",
        "missing": "task.elapseditem.delete?TASKID=691&ITEMID=9999",
        "task": "tasks.task.get?taskId=691&select[]=STATUS",
    }
    response = client.call("batch", {"halt": 0, "cmd": cmd})
    assert response.status_code == 200
    body = response.json()["result"]
    assert list(body["result"]) == ["ok", "task"]
    assert body["result_error"]["missing"]["error"] == "ERROR_CORE"
    assert body["result_total"] == {"ok": 4}
    assert body["result_next"] == []  # empty section: PHP empty array
    assert set(body["result_time"]) == {"ok", "missing", "task"}
    assert body["result"]["task"]["task"]["status"] == "3"


def test_null_result_and_list_cmd(client: Client) -> None:
    cmd = ["task.elapseditem.delete?TASKID=691&ITEMID=1", "task.elapseditem.delete?TASKID=691&ITEMID=2"]
    body = client.call("batch", {"cmd": cmd}).json()["result"]
    assert body["result"] == [None, None]
    assert body["result_error"] == []


def test_commands_past_the_50th_fail_one_by_one(client: Client, sandbox: SandboxServer) -> None:
    cmd = {f"c{i}": "tasks.task.get?taskId=691" for i in range(52)}
    response = client.call("batch", {"cmd": cmd})
    assert response.status_code == 200
    body = response.json()["result"]
    assert set(body["result_error"]) == {"c50", "c51"}
    assert body["result_error"]["c50"]["error"] == "ERROR_BATCH_LENGTH_EXCEEDED"
    assert len(body["result"]) == 50
    assert sandbox.portal.stats.calls_by_method["tasks.task.get"] == 50  # the first 50 ran


def test_halt_stops_at_first_failure(client: Client, sandbox: SandboxServer) -> None:
    cmd = {
        "a": "task.elapseditem.delete?TASKID=691&ITEMID=1",
        "b": "task.elapseditem.delete?TASKID=691&ITEMID=9999",
        "c": "task.elapseditem.delete?TASKID=691&ITEMID=2",
    }
    body = client.call("batch", {"halt": 1, "cmd": cmd}).json()["result"]
    assert list(body["result"]) == ["a"]
    assert list(body["result_error"]) == ["b"]
    assert 2 in sandbox.portal.entries  # c never ran
    body = client.call("batch", {"halt": 0, "cmd": {**cmd, "a": "tasks.task.get?taskId=691"}}).json()
    assert 2 not in sandbox.portal.entries


def test_result_references(client: Client, sandbox: SandboxServer) -> None:
    cmd = {
        "list": "task.elapseditem.getlist?TASKID=693",
        "get": "task.elapseditem.get?TASKID=$result[list][0][TASK_ID]&ITEMID=$result[list][0][ID]",
        "del": "task.elapseditem.delete?TASKID=693&ITEMID=$result[get][ID]",
    }
    body = client.call("batch", {"cmd": cmd}).json()["result"]
    assert body["result_error"] == []
    assert body["result"]["get"]["COMMENT_TEXT"] == "before completion"
    assert sandbox.portal.entries_of(693) == []
    logged = sandbox.portal.calls("task.elapseditem.delete")[-1]
    assert logged["params"] == {"TASKID": "693", "ITEMID": "5"}


def test_nested_batch_is_refused(client: Client) -> None:
    body = client.call("batch", {"cmd": {"inner": "batch?cmd[x]=tasks.task.get%3FtaskId%3D691"}}).json()
    assert body["result"]["result_error"]["inner"]["error"] == "ERROR_BATCH_METHOD_NOT_ALLOWED"


def test_form_encoded_batch(client: Client) -> None:
    data = {"halt": "0", "cmd[t]": "tasks.task.get?taskId=693&select[0]=STATUS"}
    body = client.call("batch", data=data).json()["result"]
    assert body["result"]["t"]["task"] == {"id": "693", "status": "5"}
