"""The /_sandbox control API used by tests and demos in another process."""

from __future__ import annotations

from service.sandbox import SandboxServer

from .conftest import Client


def test_create_task_with_entries_and_read_it_back(client: Client) -> None:
    spec = {
        "id": 800,
        "title": "demo",
        "status": 3,
        "entries": [{"seconds": 0}, {"seconds": 61, "user_id": 503}],
    }
    created = client.control("POST", "/tasks", spec)
    assert created.status_code == 201
    assert created.json()["task"]["status"] == "3"
    entries = client.control("GET", "/tasks/800/entries").json()
    assert [(e["SECONDS"], e["MINUTES"], e["USER_ID"]) for e in entries] == [
        ("0", "0", "1"),
        ("61", "1", "503"),
    ]
    added = client.control("POST", "/tasks/800/entries", {"seconds": 5, "comment": "x"}).json()
    assert added["COMMENT_TEXT"] == "x"
    view = client.control("GET", "/tasks/800").json()
    assert view["task"]["timeSpentInLogs"] == "66"
    assert client.control("GET", "/tasks/9999").status_code == 404


def test_status_changes_write_history(client: Client) -> None:
    client.control("POST", "/tasks/693/status", {"status": "renew", "notify": False})
    view = client.control("GET", "/tasks/693").json()
    assert view["task"]["closedDate"] is None
    status_rows = [(h["from"], h["to"]) for h in view["history"] if h["field"] == "STATUS"]
    assert status_rows == [("2", "5"), ("5", "2")]
    assert client.control("POST", "/tasks/693/status", {"status": 9}).status_code == 400


def test_config_webhooks_and_reset(client: Client, sandbox: SandboxServer) -> None:
    config = client.control("POST", "/config", {"rate": 5, "burst": 250, "faults": {"latency": 0.0}}).json()
    assert (config["rate"], config["burst"]) == (5, 250)
    client.control("POST", "/webhooks", {"user_id": 7, "code": "seven", "admin": False})
    assert client.call("tasks.task.get", {"taskId": 691}, base=sandbox.webhook_url_for(7, "seven")).ok
    assert client.control("POST", "/reset").json() == {"reset": True}
    assert client.control("GET", "/stats").json()["http"]["total"] == 0
    assert client.call("tasks.task.get", {"taskId": 691}).json()["result"] == []
    assert sandbox.portal.config.burst == 250
