"""Deleting time entries: admin webhook or the entry's author only."""

from __future__ import annotations

from service.sandbox import SandboxServer

from .conftest import Client


def test_non_admin_cannot_delete_someone_elses_entry(client: Client, sandbox: SandboxServer) -> None:
    sandbox.portal.add_webhook(503, "maria", admin=False)
    base = sandbox.webhook_url_for(503, "maria")
    admins_entry = sandbox.portal.add_entry(691, 30, user_id=1)
    response = client.call("task.elapseditem.delete", {"TASKID": 691, "ITEMID": admins_entry.id}, base=base)
    assert response.status_code == 400
    assert response.json()["error"] == "ERROR_CORE"
    assert "ACTION_NOT_ALLOWED" in response.json()["error_description"]
    assert admins_entry.id in sandbox.portal.entries


def test_author_may_delete_own_entry_and_admin_anyones(client: Client, sandbox: SandboxServer) -> None:
    sandbox.portal.add_webhook(503, "maria", admin=False)
    base = sandbox.webhook_url_for(503, "maria")
    own = sandbox.portal.add_entry(691, 30, user_id=503)
    assert (
        client.call("task.elapseditem.delete", {"TASKID": 691, "ITEMID": own.id}, base=base).status_code
        == 200
    )
    other = sandbox.portal.add_entry(691, 30, user_id=503)
    assert client.call("task.elapseditem.delete", {"TASKID": 691, "ITEMID": other.id}).status_code == 200
    assert own.id not in sandbox.portal.entries
    assert other.id not in sandbox.portal.entries
