"""profile (ADMIN per webhook user), scope (the webhook's scopes) and server.time; scope enforcement."""

from __future__ import annotations

from datetime import datetime

from service.sandbox import SandboxServer

from .conftest import Client, FakeClock


def test_profile_says_whether_the_webhook_user_is_an_admin(client: Client, sandbox: SandboxServer) -> None:
    admin = client.call("profile", {}).json()["result"]
    assert admin["ID"] == "1"
    assert admin["ADMIN"] is True
    sandbox.portal.add_webhook(503, "maria", admin=False)
    maria = client.call("profile", {}, base=sandbox.webhook_url_for(503, "maria")).json()["result"]
    assert maria["ID"] == "503"
    assert maria["ADMIN"] is False
    assert maria["NAME"] == "Maria"
    assert client.call("user.admin", {}).json()["result"] is True
    assert client.call("user.admin", {}, base=sandbox.webhook_url_for(503, "maria")).json()["result"] is False


def test_scope_lists_the_webhook_scopes(client: Client, sandbox: SandboxServer) -> None:
    assert client.call("scope", {}).json()["result"] == ["task"]
    sandbox.portal.add_webhook(503, "crm", admin=True, scopes=["crm"])
    assert client.call("scope", {}, base=sandbox.webhook_url_for(503, "crm")).json()["result"] == ["crm"]
    assert "task" in client.call("scope", {"full": True}).json()["result"]


def test_a_webhook_without_scope_task_cannot_call_task_methods(
    client: Client, sandbox: SandboxServer
) -> None:
    sandbox.portal.add_webhook(503, "crm", admin=True, scopes=["crm"])
    base = sandbox.webhook_url_for(503, "crm")
    response = client.call("tasks.task.get", {"taskId": 691}, base=base)
    assert response.status_code == 403
    assert response.json()["error"] == "insufficient_scope"
    assert client.call("profile", {}, base=base).status_code == 200  # scope basic: every webhook


def test_server_time_is_the_portal_clock(client: Client, clock: FakeClock) -> None:
    answered = datetime.fromisoformat(client.call("server.time", {}).json()["result"])
    assert answered.timestamp() == int(clock.now)
    assert answered.utcoffset() is not None
