"""Every documented answer shape classifies to exactly one Reply or typed error."""

from __future__ import annotations

import json
import pickle

import pytest

from service.core.bitrix import (
    BitrixError,
    NotFound,
    OperationTimeLimit,
    PermanentError,
    RateLimited,
    TransientError,
    classify,
)

M = "task.elapseditem.delete"


def err(code: str, description: str = "") -> bytes:
    return json.dumps({"error": code, "error_description": description}).encode()


def test_success_reply_with_paging_and_operating_time() -> None:
    body = {
        "result": [{"ID": "1"}],
        "total": "120",
        "next": 50,
        "time": {"start": 1.0, "operating": 3.3, "operating_reset_at": 1705765533},
    }
    reply = classify(200, json.dumps(body).encode(), "task.elapseditem.getlist")
    assert reply.result == [{"ID": "1"}]
    assert (reply.total, reply.next) == (120, 50)
    assert (reply.time.operating, reply.time.operating_reset_at) == (3.3, 1705765533.0)


def test_null_result_is_a_success() -> None:
    reply = classify(200, b'{"result":null,"time":{}}', M)
    assert reply.result is None
    assert reply.time.operating is None


@pytest.mark.parametrize(
    ("status", "code", "kind"),
    [
        (503, "QUERY_LIMIT_EXCEEDED", RateLimited),
        (503, "OVERLOAD_LIMIT", TransientError),
        (401, "OVERLOAD_LIMIT", TransientError),  # the current docs list it as 401
        (500, "INTERNAL_SERVER_ERROR", TransientError),
        (500, "ERROR_UNEXPECTED_ANSWER", TransientError),
        (401, "NO_AUTH_FOUND", PermanentError),
        (401, "expired_token", PermanentError),
        (403, "insufficient_scope", PermanentError),
        (401, "insufficient_scope", PermanentError),
        (403, "INVALID_CREDENTIALS", PermanentError),
        (403, "ACCESS_DENIED", PermanentError),
        (403, "WRONG_AUTH_TYPE", PermanentError),
        (500, "PORTAL_DELETED", PermanentError),
        (403, "PORTAL_DELETED", PermanentError),
        (400, "INVALID_REQUEST", PermanentError),
        (401, "user_access_error", PermanentError),
        (404, "ERROR_METHOD_NOT_FOUND", PermanentError),
        (400, "ERROR_BATCH_LENGTH_EXCEEDED", PermanentError),
        (405, "ERROR_BATCH_METHOD_NOT_ALLOWED", PermanentError),
        (400, "SOMETHING_NEW", PermanentError),
        (502, "SOMETHING_NEW", TransientError),
        (429, "SOMETHING_NEW", RateLimited),
    ],
)
def test_system_errors(status: int, code: str, kind: type[BitrixError]) -> None:
    with pytest.raises(kind) as caught:
        classify(status, err(code, "text"), M)
    error = caught.value
    assert type(error) is kind
    assert (error.code, error.description, error.status, error.method) == (code, "text", status, M)
    assert error.transient is issubclass(kind, TransientError)


def test_operation_time_limit_carries_reset_time_when_given() -> None:
    body = {
        "error": "OPERATION_TIME_LIMIT",
        "error_description": "blocked",
        "time": {"operating_reset_at": 1700},
    }
    with pytest.raises(OperationTimeLimit) as caught:
        classify(429, json.dumps(body).encode(), M)
    assert caught.value.reset_at == 1700.0
    with pytest.raises(OperationTimeLimit) as bare:
        classify(429, err("OPERATION_TIME_LIMIT"), M)
    assert bare.value.reset_at is None


@pytest.mark.parametrize(
    "description",
    [
        "Task not found",
        "TASKS_ERROR_EXCEPTION_#1; Task not found or not accessible; TE_TASK_NOT_FOUND_OR_NOT_ACCESSIBLE",
        "TASKS_ERROR_EXCEPTION_#512; Elapsed time item not found; TE_ITEM_NOT_FOUND_OR_NOT_ACCESSIBLE",
        "TASKS_ERROR_EXCEPTION_#512;",
    ],
)
def test_error_core_not_found_means_gone(description: str) -> None:
    with pytest.raises(NotFound):
        classify(400, err("ERROR_CORE", description), M)


@pytest.mark.parametrize(
    "description",
    [
        "ACTION_NOT_ALLOWED",
        "TASKS_ERROR_EXCEPTION_#4; Action not allowed; TE_ACTION_NOT_ALLOWED",
        "TASKS_ERROR_EXCEPTION_#1048578; Access denied; TE_ACCESS_DENIED",
        "TASKS_ERROR_EXCEPTION_#16; whatever",
        "",
    ],
)
def test_error_core_other_is_permanent_not_gone(description: str) -> None:
    with pytest.raises(PermanentError) as caught:
        classify(400, err("ERROR_CORE", description), M)
    assert not isinstance(caught.value, NotFound)


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (502, TransientError),
        (503, TransientError),
        (504, TransientError),
        (500, TransientError),
        (200, TransientError),
        (429, RateLimited),
        (404, PermanentError),
        (403, PermanentError),
        (400, PermanentError),
    ],
)
def test_html_and_garbage_bodies_classify_by_status(status: int, kind: type[BitrixError]) -> None:
    page = b"<html><head><title>502 Bad Gateway</title></head><body><center>nginx</center></body></html>"
    for body in (page, b"", b"\xff\xfe", b"[1,2]", b'"text"'):
        with pytest.raises(kind) as caught:
            classify(status, body, M)
        assert type(caught.value) is kind
        assert caught.value.status == status


def test_json_without_result_or_error_is_transient() -> None:
    with pytest.raises(TransientError):
        classify(200, b"{}", M)
    with pytest.raises(TransientError):
        classify(500, b'{"result": 1}', M)


def test_error_text_and_pickling() -> None:
    with pytest.raises(OperationTimeLimit) as caught:
        classify(
            429, json.dumps({"error": "OPERATION_TIME_LIMIT", "time": {"operating_reset_at": 5}}).encode(), M
        )
    error = caught.value
    assert str(error) == f"{M}: HTTP 429: OPERATION_TIME_LIMIT"
    copy = pickle.loads(pickle.dumps(error))  # noqa: S301 - our own bytes
    assert type(copy) is OperationTimeLimit
    assert (copy.code, copy.status, copy.method, copy.reset_at) == (error.code, 429, M, 5.0)
    assert str(copy) == str(error)


def test_every_error_names_its_http_status() -> None:
    with pytest.raises(RateLimited) as limited:
        classify(503, b'{"error": "QUERY_LIMIT_EXCEEDED", "error_description": "Too many requests"}', M)
    assert str(limited.value) == f"{M}: HTTP 503: QUERY_LIMIT_EXCEEDED: Too many requests"
    with pytest.raises(TransientError) as page:
        classify(503, b"<html><body><h1>503 Service Temporarily Unavailable</h1></body></html>", M)
    assert (
        page.value.headline
        == "HTTP 503: ERROR_UNEXPECTED_ANSWER: the answer is an HTML page, not a JSON object"
    )
    with pytest.raises(TransientError) as empty:
        classify(502, b"", M)
    assert empty.value.headline == "HTTP 502: ERROR_UNEXPECTED_ANSWER: the answer is empty"
    lost = TransientError("CONNECTION_ERROR", "ConnectionError", None, M)
    assert str(lost) == f"{M}: CONNECTION_ERROR: ConnectionError"  # no answer, so no status
