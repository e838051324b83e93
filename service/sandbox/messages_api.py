"""``task.commentitem.add`` (legacy, POSITIONAL: TASKID, FIELDS) and ``im.notify.system.add`` (named).

Docs: https://apidocs.bitrix24.com/api-reference/tasks/comment-item/task-comment-item-add.html (scope
``task``; any user with read access to the task; FIELDS keys POST_MESSAGE*, AUTHOR_ID, POST_DATE,
UF_FORUM_MESSAGE_DOC; the answer is the new comment's id) and
https://apidocs.bitrix24.com/api-reference/chats/notifications/im-notify-system-add.html (scope ``im``;
USER_ID*, MESSAGE* trimmed; USER_ID_EMPTY / MESSAGE_EMPTY; the answer is the notification's id).
"""

from __future__ import annotations

from . import errors
from .errors import ApiError, core_error
from .params import get_ci, is_array, php_int, positional
from .portal import Portal
from .registry import Call, Outcome, method

COMMENT_FIELDS = {"POST_MESSAGE", "AUTHOR_ID", "POST_DATE", "UF_FORUM_MESSAGE_DOC"}


@method("task.commentitem.add")
def comment_add(call: Call) -> Outcome:
    values = positional(call.params)
    task_id = php_int(values[0]) if values and not is_array(values[0]) else None
    if task_id is None:
        raise core_error(
            errors.WRONG_ARGUMENTS,
            'Param #0 (taskId) for method ctaskcommentitem::add() expected to be of type "integer"',
        )
    fields = values[1] if len(values) > 1 and isinstance(values[1], dict) else None
    if fields is None:
        raise core_error(errors.WRONG_ARGUMENTS, "Param #1 (arFields) expected to be of type array")
    for key in fields:
        if str(key).upper() not in COMMENT_FIELDS:
            raise core_error(errors.WRONG_ARGUMENTS, f"Param #1 (arFields) must not contain key {key}")
    text = str(fields.get("POST_MESSAGE") or "")
    if not text.strip():
        raise ApiError(400, "ERROR_CORE", "Comment text not specified")
    if not call.portal.can_see(call.webhook, call.portal.get_task(task_id)):  # read access is enough
        raise ApiError(400, "ERROR_CORE", "Insufficient permissions to add a comment")
    author = php_int(fields.get("AUTHOR_ID")) or call.webhook.user_id
    return Outcome(_store(call.portal, "comment", task_id=task_id, user_id=author, text=text))


@method("im.notify.system.add", scope="im")
def notify_system(call: Call) -> Outcome:
    user_id = php_int(get_ci(call.params, "USER_ID"))
    if user_id is None or user_id <= 0:
        raise ApiError(400, "USER_ID_EMPTY", "User ID can't be empty")
    text = str(get_ci(call.params, "MESSAGE") or "").strip()
    if not text:
        raise ApiError(400, "MESSAGE_EMPTY", "Message can't be empty")
    return Outcome(_store(call.portal, "notification", task_id=None, user_id=user_id, text=text))


def _store(portal: Portal, kind: str, *, task_id: int | None, user_id: int, text: str) -> int:
    """Store a comment (`task_id` set, `user_id` its author) or a notification (to `user_id`)."""
    with portal.lock:
        message_id = len(portal.messages) + 1
        portal.messages.append(
            {"id": message_id, "kind": kind, "task_id": task_id, "user_id": user_id, "text": text,
             "created": portal.now().isoformat()}
        )  # fmt: skip
        return message_id
