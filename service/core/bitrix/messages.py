"""REST calls that tell people something: a task comment, a system notification.

`task.commentitem.add` is a legacy `task.*` method: positional parameters, TASKID then FIELDS
(scope `task`). https://apidocs.bitrix24.com/api-reference/tasks/comment-item/task-comment-item-add.html
`im.notify.system.add` takes named USER_ID and MESSAGE (scope `im`).
https://apidocs.bitrix24.com/api-reference/chats/notifications/im-notify-system-add.html
"""

from __future__ import annotations

from service.core.bitrix.calls import Call


def comment_add(task_id: int, text: str) -> Call:
    """A comment on the task (POST_MESSAGE); the answer is the new comment's id."""
    return Call("task.commentitem.add", (("TASKID", int(task_id)), ("FIELDS", {"POST_MESSAGE": text})))


def system_notify(user_id: int, text: str) -> Call:
    """A system notification to one user; the answer is the notification's id."""
    return Call("im.notify.system.add", (("USER_ID", int(user_id)), ("MESSAGE", text)))
