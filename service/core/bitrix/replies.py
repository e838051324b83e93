"""Turn an HTTP answer from Bitrix24 into a `Reply`, or raise the one typed error it stands for.

The portal answers `{"result": …, "total": N, "next": N, "time": {…}}` on success and
`{"error": CODE, "error_description": TEXT}` on failure; a proxy in front of it may answer an HTML page.
The error code decides the class; the HTTP status only decides when the code is unknown or absent,
because the docs and the kernel disagree on some statuses (e.g. OVERLOAD_LIMIT 401 vs 503).
System errors: https://apidocs.bitrix24.com/api-reference/common/system-errors.html
Limits and the `time` object: https://apidocs.bitrix24.com/limits.html
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from service.core.bitrix.errors import (
    BitrixError,
    NotFound,
    OperationTimeLimit,
    PermanentError,
    RateLimited,
    TransientError,
)


@dataclass(frozen=True)
class OperatingTime:
    """`time.operating` (s of this method in the last 10 min) and `time.operating_reset_at` (unix s)."""

    operating: float | None = None
    operating_reset_at: float | None = None


@dataclass(frozen=True)
class Reply:
    """A successful answer: `result` as decoded JSON, list paging (`total`, `next`) and operating time."""

    result: Any
    total: int | None = None
    next: int | None = None
    time: OperatingTime = OperatingTime()


_TRANSIENT_CODES = frozenset({"OVERLOAD_LIMIT", "INTERNAL_SERVER_ERROR", "ERROR_UNEXPECTED_ANSWER"})
_PERMANENT_CODES = frozenset(
    {
        "NO_AUTH_FOUND",
        "expired_token",
        "insufficient_scope",
        "INVALID_CREDENTIALS",
        "ACCESS_DENIED",
        "WRONG_AUTH_TYPE",
        "PORTAL_DELETED",
        "INVALID_REQUEST",
        "user_access_error",
        "ERROR_METHOD_NOT_FOUND",
        "ERROR_BATCH_LENGTH_EXCEEDED",
        "ERROR_BATCH_METHOD_NOT_ALLOWED",
    }
)

# Legacy task.* errors are 400 ERROR_CORE with the kernel text "TASKS_ERROR_EXCEPTION_#<code>; <msg>;
# <symbol>" or just a symbol ("ACTION_NOT_ALLOWED", "Task not found"). TasksException codes 0x000001
# (task not found or not accessible, decimal 1) and 0x000200 (item not found or not accessible, 512)
# mean the thing is gone for us. The exact cloud text is unverified, so match loosely.
# https://apidocs.bitrix24.com/api-reference/tasks/elapsed-item/task-elapsed-item-delete.html
_GONE = re.compile(r"not[ _]found|EXCEPTION_#(?:1|512);", re.IGNORECASE)


def classify(status: int, body: bytes, method: str) -> Reply:
    """The `Reply` of a successful answer; raises the matching `BitrixError` subclass otherwise."""
    document = _decode(body)
    if not isinstance(document, dict):
        # A proxy's HTML page (a 502/503 in front of the portal): say what it was, the status says why.
        raise _by_status(status, "ERROR_UNEXPECTED_ANSWER", _not_json(body), method)
    if "error" in document:
        raise error_from(document, status, method)
    if not 200 <= status < 300 or "result" not in document:
        raise _by_status(status, "ERROR_UNEXPECTED_ANSWER", "no result in the answer", method)
    return Reply(
        result=document["result"],
        total=int_or_none(document.get("total")),
        next=int_or_none(document.get("next")),
        time=operating_time(document.get("time")),
    )


def error_from(document: dict[str, Any], status: int | None, method: str) -> BitrixError:
    """The typed error for an `{"error": …, "error_description": …}` object (also a batch sub-error)."""
    code = str(document.get("error") or "UNKNOWN")
    description = str(document.get("error_description") or "")
    if code == "QUERY_LIMIT_EXCEEDED":
        return RateLimited(code, description, status, method)
    if code == "OPERATION_TIME_LIMIT":
        reset_at = operating_time(document.get("time")).operating_reset_at
        return OperationTimeLimit(code, description, status, method, reset_at=reset_at)
    if code in _TRANSIENT_CODES:
        return TransientError(code, description, status, method)
    if code in _PERMANENT_CODES:
        return PermanentError(code, description, status, method)
    if code == "ERROR_CORE" and _GONE.search(description):
        return NotFound(code, description, status, method)
    if status is None:
        return PermanentError(code, description, status, method)
    return _by_status(status, code, description, method)


def operating_time(value: object) -> OperatingTime:
    """The operating fields of a `time` object (absent on-premise and in older answers)."""
    if not isinstance(value, dict):
        return OperatingTime()
    return OperatingTime(
        _float_or_none(value.get("operating")), _float_or_none(value.get("operating_reset_at"))
    )


def _by_status(status: int, code: str, description: str, method: str) -> BitrixError:
    # 429 without OPERATION_TIME_LIMIT (a proxy's limit) says nothing about a reset time: back off.
    if status == 429:
        return RateLimited(code, description, status, method)
    if status >= 500 or status in (0, 408) or 200 <= status < 300:
        return TransientError(code, description, status, method)
    return PermanentError(code, description, status, method)


def _not_json(body: bytes) -> str:
    head = body[:200].decode("utf-8", errors="replace").strip().lower()
    kind = "an HTML page" if head.startswith(("<!doctype", "<html")) or "<body" in head else "no JSON"
    return f"the answer is {kind}, not a JSON object" if body.strip() else "the answer is empty"


def _decode(body: bytes) -> object:
    try:
        return json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None


def int_or_none(value: object) -> int | None:
    """An int from a JSON number or numeric string (Bitrix24 sends numbers as strings); else None."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        return int(value)
    except ValueError:
        return None


def _float_or_none(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        return float(value)
    except ValueError:
        return None
