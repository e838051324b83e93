"""What the sandbox counts and logs, for tests to assert on."""

from __future__ import annotations

from service.sandbox import SandboxServer

from .conftest import Client


def test_counters_per_method_status_and_batch_subcommands(client: Client, sandbox: SandboxServer) -> None:
    client.call("tasks.task.get", {"taskId": 691})
    client.call("task.elapseditem.delete", {"TASKID": 691, "ITEMID": 9999})
    cmd = {
        "a": "task.elapseditem.delete?TASKID=691&ITEMID=1",
        "b": "task.elapseditem.delete?TASKID=691&ITEMID=2",
    }
    client.call("batch", {"cmd": cmd})
    stats = client.control("GET", "/stats").json()
    assert stats["http"] == {"total": 3, "by_status": {"200": 2, "400": 1}}
    assert stats["calls"]["by_method"] == {"batch": 1, "task.elapseditem.delete": 3, "tasks.task.get": 1}
    assert stats["calls"]["by_method_status"]["task.elapseditem.delete"] == {"200": 2, "400": 1}
    assert sandbox.portal.served(503) == 0


def test_request_log_keeps_parameter_order(client: Client, sandbox: SandboxServer) -> None:
    client.call("task.elapseditem.delete", {"TASKID": 691, "ITEMID": 1})
    client.call("task.elapseditem.delete", {"ITEMID": 2, "TASKID": 691})
    client.call("batch", {"cmd": {"x": "task.elapseditem.delete?ITEMID=3&TASKID=691"}})
    log = client.control("GET", "/requests?method=task.elapseditem.delete").json()
    assert [r["keys"] for r in log] == [["TASKID", "ITEMID"], ["ITEMID", "TASKID"], ["ITEMID", "TASKID"]]
    assert [r["status"] for r in log] == [200, 400, 400]
    assert log[2]["in_batch"] is not None
    assert log[0]["params"] == {"TASKID": 691, "ITEMID": 1}
