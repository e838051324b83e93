"""task.commentitem.add (positional TASKID, FIELDS) and im.notify.system.add, as the docs describe them."""

from __future__ import annotations

from service.sandbox import SandboxServer

from .conftest import Client


def test_a_comment_is_added_to_the_task_and_its_id_returned(client: Client, sandbox: SandboxServer) -> None:
    response = client.call("task.commentitem.add", {"TASKID": 691, "FIELDS": {"POST_MESSAGE": "Removed 0 s"}})
    assert response.status_code == 200
    [message] = sandbox.portal.messages
    assert response.json()["result"] == message["id"]
    assert (message["kind"], message["task_id"], message["user_id"], message["text"]) == (
        "comment",
        691,
        1,
        "Removed 0 s",
    )


def test_comment_parameters_are_read_by_position_and_checked(client: Client, sandbox: SandboxServer) -> None:
    swapped = client.call("task.commentitem.add", {"FIELDS": {"POST_MESSAGE": "x"}, "TASKID": 691})
    empty = client.call("task.commentitem.add", {"TASKID": 691, "FIELDS": {"POST_MESSAGE": " "}})
    unknown_key = client.call("task.commentitem.add", {"TASKID": 691, "FIELDS": {"TEXT": "x"}})
    missing_task = client.call("task.commentitem.add", {"TASKID": 999999, "FIELDS": {"POST_MESSAGE": "x"}})
    for response in (swapped, empty, unknown_key, missing_task):
        assert (response.status_code, response.json()["error"]) == (400, "ERROR_CORE")
    assert "Comment text not specified" in empty.json()["error_description"]
    assert sandbox.portal.messages == []


def test_a_system_notification_needs_scope_im_a_user_and_a_message(
    client: Client, sandbox: SandboxServer
) -> None:
    refused = client.call("im.notify.system.add", {"USER_ID": 503, "MESSAGE": "x"})  # a task-only webhook
    assert (refused.status_code, refused.json()["error"]) == (403, "insufficient_scope")
    sandbox.portal.add_webhook(1, sandbox.portal.admin_code, admin=True, scopes=("task", "im"))
    sent = client.call("im.notify.system.add", {"USER_ID": 503, "MESSAGE": "  Removed 0 s  "})
    assert sent.status_code == 200
    assert [(m["kind"], m["user_id"], m["text"]) for m in sandbox.portal.messages] == [
        ("notification", 503, "Removed 0 s")
    ]
    assert client.call("im.notify.system.add", {"MESSAGE": "x"}).json()["error"] == "USER_ID_EMPTY"
    assert client.call("im.notify.system.add", {"USER_ID": 503}).json()["error"] == "MESSAGE_EMPTY"
