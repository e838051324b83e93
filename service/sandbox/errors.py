"""Error values the emulated portal answers with, shaped like the Bitrix24 REST docs.

System errors: b24restdocs ``_includes/system-errors.md`` (shown on every method page).
Legacy ``task.*`` errors: HTTP 400 ``ERROR_CORE`` with the kernel text
``TASKS_ERROR_EXCEPTION_#<code>; <message>; <code>/TE/<SYMBOL><br>``, as the docs' error examples show
(e.g. .../tasks/checklist-item/task-checklist-item-delete.md: "TASKS_ERROR_EXCEPTION_#4; Action is not
allowed; 4/TE/ACTION_NOT_ALLOWED<br>").
"""

from __future__ import annotations

from typing import Any

# HTTP status and default description per system error code (status values as in the project's reference).
SYSTEM_ERRORS: dict[str, tuple[int, str]] = {
    "NO_AUTH_FOUND": (401, "Wrong authorization data"),
    "INVALID_CREDENTIALS": (403, "Invalid request credentials"),
    "expired_token": (401, "The access token provided has expired"),
    "insufficient_scope": (403, "The request requires higher privileges than provided by the webhook token"),
    "ACCESS_DENIED": (403, "REST is available only on commercial plans"),
    "QUERY_LIMIT_EXCEEDED": (503, "Too many requests"),
    "OVERLOAD_LIMIT": (503, "REST API is blocked due to overload"),
    "OPERATION_TIME_LIMIT": (429, "Method is blocked due to operation time limit."),
    "INTERNAL_SERVER_ERROR": (500, "Internal server error"),
    "ERROR_UNEXPECTED_ANSWER": (500, "Server returned an unexpected answer"),
    "PORTAL_DELETED": (500, "Portal was deleted"),
    "ERROR_METHOD_NOT_FOUND": (404, "Method not found!"),
    "ERROR_BATCH_LENGTH_EXCEEDED": (400, "Max batch length exceeded"),
    "ERROR_BATCH_METHOD_NOT_ALLOWED": (405, "Method is not allowed for batch usage"),
    "ERROR_CORE": (400, "Unknown error"),
}

# TasksException codes (decimal of the documented hex constants), message and symbol. An item of a task
# the caller cannot see is "not found" too: CTaskSubItemAbstract::getData turns any failure into #512
# with the checklist's message (the kernel reuses it for time entries).
TASK_NOT_FOUND = (0x000001, "Task not found or not accessible", "TASK_NOT_FOUND_OR_NOT_ACCESSIBLE")
ACCESS_DENIED = (0x100002, "Access denied", "ACCESS_DENIED")
ACTION_NOT_ALLOWED = (0x000004, "Action is not allowed", "ACTION_NOT_ALLOWED")
WRONG_ARGUMENTS = (0x000100, "Wrong arguments", "WRONG_ARGUMENTS")
ITEM_NOT_FOUND = (0x000200, "Check listitem not found or not accessible", "ITEM_NOT_FOUND_OR_NOT_ACCESSIBLE")


class ApiError(Exception):
    """A REST error: HTTP status plus the ``error``/``error_description`` pair of the body."""

    def __init__(self, status: int, code: str, description: str) -> None:
        super().__init__(f"{status} {code}: {description}")
        self.status = status
        self.code = code
        self.description = description

    def body(self) -> dict[str, Any]:
        return {"error": self.code, "error_description": self.description}


def system_error(code: str, description: str | None = None, status: int | None = None) -> ApiError:
    """The documented system error ``code`` (unknown codes become HTTP 400)."""
    default_status, default_text = SYSTEM_ERRORS.get(code, (400, code))
    return ApiError(status or default_status, code, description or default_text)


def core_error(kind: tuple[int, str, str], detail: str = "") -> ApiError:
    """A legacy ``task.*`` failure: 400 ``ERROR_CORE`` with the kernel's message format."""
    code, message, symbol = kind
    text = detail or message
    return ApiError(400, "ERROR_CORE", f"TASKS_ERROR_EXCEPTION_#{code}; {text}; {code}/TE/{symbol}<br>")
