"""The webhook client against a fake portal: bytes on the wire, retries, pauses, secrets kept out."""

from __future__ import annotations

import json
import pickle
import traceback

import pytest
import requests
from b24fake import SECRET, WEBHOOK, Clock, FakePortal, batch_answer, ok

from service.bitrix.client import BitrixClient, WebhookUrlError
from service.bitrix.limiter import SharedLimiter
from service.core.bitrix import (
    BitrixError,
    NotFound,
    OperationTimeLimit,
    PermanentError,
    RateLimited,
    Reply,
    TransientError,
    entry_delete,
    task_get,
)
from service.store.ratebucket import SqlRateBucket


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def outcomes() -> list[tuple[str, str]]:
    return []


@pytest.fixture
def client(
    session: requests.Session, clock: Clock, outcomes: list[tuple[str, str]], rate_bucket: SqlRateBucket
) -> BitrixClient:
    limiter = SharedLimiter(rate_bucket, "acme", 2.0, 50, sleep=clock.sleep, clock=clock)
    return BitrixClient(
        WEBHOOK,
        limiter,
        session=session,
        on_request=lambda m, o: outcomes.append((m, o)),
        sleep=clock.sleep,
        clock=clock,
    )


def test_posts_ordered_json_to_the_method_url(client: BitrixClient, portal: FakePortal) -> None:
    portal.script.append(ok(None))
    reply = client.call(entry_delete(691, 5))
    assert reply.result is None
    request = portal.raw[0]
    assert request.method == "POST"
    assert request.url == WEBHOOK + "task.elapseditem.delete"
    assert request.headers["Content-Type"] == "application/json"
    assert request.body == b'{"TASKID":691,"ITEMID":5}'


@pytest.mark.parametrize(
    "url",
    [
        "ftp://acme.bitrix24.com/rest/1/abc/",
        "https://acme.bitrix24.com/rest/abc/",
        "https://acme.bitrix24.com/rest/1/abc/task.get",
        "https://user:pw@acme.bitrix24.com/rest/1/abc/",
        "acme.bitrix24.com/rest/1/abc/",
        "",
    ],
)
def test_bad_webhook_urls_are_refused_without_echoing_them(url: str, rate_bucket: SqlRateBucket) -> None:
    with pytest.raises(WebhookUrlError) as caught:
        BitrixClient(url, SharedLimiter(rate_bucket, "acme"))
    assert "abc" not in str(caught.value)


def test_webhook_url_forms_accepted(rate_bucket: SqlRateBucket) -> None:
    for url in ("http://127.0.0.1:8081/rest/7/abc_DEF1", "https://a.bitrix24.de/rest/1/x/"):
        assert BitrixClient(url, SharedLimiter(rate_bucket, "acme")).portal in ("127.0.0.1", "a.bitrix24.de")


def test_rate_limited_is_retried_with_backoff_then_succeeds(
    client: BitrixClient, portal: FakePortal, clock: Clock, outcomes: list[tuple[str, str]]
) -> None:
    limit = (503, {"error": "QUERY_LIMIT_EXCEEDED", "error_description": "Too many requests"})
    portal.script += [limit, limit, ok({"task": {"id": "1"}})]
    assert client.call(task_get(1, ["ID"])).result == {"task": {"id": "1"}}
    assert len(portal.sent) == 3
    assert len(clock.sleeps) == 2
    assert all(0 <= s <= 2.0 for s in clock.sleeps)
    assert [o for _, o in outcomes] == ["rate_limited", "rate_limited", "ok"]


def test_rate_limited_gives_up_after_bounded_attempts(client: BitrixClient, portal: FakePortal) -> None:
    portal.handler = lambda m, b: (503, {"error": "QUERY_LIMIT_EXCEEDED"})
    with pytest.raises(RateLimited):
        client.call(task_get(1, ["ID"]))
    assert len(portal.sent) == 4


def test_operation_time_limit_pauses_the_method_and_raises(
    client: BitrixClient, portal: FakePortal, clock: Clock
) -> None:
    reset = clock.now + 120
    portal.script.append((429, {"error": "OPERATION_TIME_LIMIT", "time": {"operating_reset_at": reset}}))
    with pytest.raises(OperationTimeLimit) as caught:
        client.call(entry_delete(1, 2))
    assert caught.value.reset_at == reset
    with pytest.raises(OperationTimeLimit):  # paused locally: no request is sent
        client.call(entry_delete(1, 3))
    assert len(portal.sent) == 1
    portal.script.append(ok({"task": {}}))
    client.call(task_get(1, ["ID"]))  # other methods keep working
    clock.now = reset + 1
    portal.script.append(ok(None))
    client.call(entry_delete(1, 3))


def test_operation_time_limit_without_reset_uses_last_seen_reset(
    client: BitrixClient, portal: FakePortal, clock: Clock
) -> None:
    portal.script.append(ok(None, time={"operating": 470.0, "operating_reset_at": clock.now + 30}))
    client.call(entry_delete(1, 2))
    portal.script.append((429, {"error": "OPERATION_TIME_LIMIT"}))
    with pytest.raises(OperationTimeLimit) as caught:
        client.call(entry_delete(1, 3))
    assert caught.value.reset_at == clock.now + 30
    portal.script.append((429, {"error": "OPERATION_TIME_LIMIT"}))
    clock.now += 31
    with pytest.raises(OperationTimeLimit) as fallback:
        client.call(entry_delete(1, 4))
    assert fallback.value.reset_at == clock.now + 60


def test_batch_subcommand_time_limit_pauses_that_method(
    client: BitrixClient, portal: FakePortal, clock: Clock
) -> None:
    portal.script.append(
        batch_answer({"a": None}, {"b": {"error": "OPERATION_TIME_LIMIT", "error_description": ""}})
    )
    out = client.batch({"a": task_get(1, ["ID"]), "b": entry_delete(1, 2)})
    assert isinstance(out["a"], Reply)
    assert isinstance(out["b"], OperationTimeLimit)
    with pytest.raises(OperationTimeLimit):  # a batch that contains the paused method is not sent
        client.batch({"c": entry_delete(1, 3)})
    assert len(portal.sent) == 1
    body = portal.sent[0][1]
    assert portal.sent[0][0] == "batch"
    assert body == {
        "halt": 0,
        "cmd": {
            "a": "tasks.task.get?taskId=1&select%5B0%5D=ID",
            "b": "task.elapseditem.delete?TASKID=1&ITEMID=2",
        },
    }


@pytest.mark.parametrize(
    ("answer", "kind", "outcome"),
    [
        ((502, b"<html><body>502 Bad Gateway</body></html>"), TransientError, "transient"),
        (
            (401, {"error": "NO_AUTH_FOUND", "error_description": "Wrong authorization data"}),
            PermanentError,
            "permanent",
        ),
        ((400, {"error": "ERROR_CORE", "error_description": "Task not found"}), NotFound, "permanent"),
        (requests.ConnectTimeout(f"timed out {WEBHOOK}"), TransientError, "timeout"),
        (requests.ReadTimeout(f"read timed out {WEBHOOK}"), TransientError, "timeout"),
        (
            requests.ConnectionError(f"Max retries exceeded with url: {WEBHOOK}"),
            TransientError,
            "connection_error",
        ),
    ],
)
def test_failures_raise_typed_errors_without_the_secret(
    client: BitrixClient,
    portal: FakePortal,
    outcomes: list[tuple[str, str]],
    answer: object,
    kind: type[BitrixError],
    outcome: str,
) -> None:
    portal.script.append(answer)  # type: ignore[arg-type]
    with pytest.raises(kind) as caught:
        client.call(entry_delete(1, 2))
    error = caught.value
    assert type(error) is kind
    assert error.method == "task.elapseditem.delete"
    assert outcomes[-1] == ("task.elapseditem.delete", outcome)
    assert error.__cause__ is None
    assert error.__context__ is None
    texts = [str(error), repr(error), "".join(traceback.format_exception(error)), repr(error.__dict__)]
    texts.append(repr(pickle.loads(pickle.dumps(error))))  # noqa: S301 - our own bytes
    for text in texts:
        assert SECRET not in text
        assert "/rest/1/" not in text


def test_repr_and_str_of_client_hide_the_webhook(client: BitrixClient) -> None:
    for text in (repr(client), str(client), f"{client!r}"):
        assert SECRET not in text
    assert "acme.bitrix24.com" in repr(client)


def test_batch_result_is_unpacked_per_key(client: BitrixClient, portal: FakePortal) -> None:
    portal.script.append(
        batch_answer({"d1": None}, {"d2": {"error": "ERROR_CORE", "error_description": "ACTION_NOT_ALLOWED"}})
    )
    out = client.batch({"d1": entry_delete(1, 1), "d2": entry_delete(1, 2)})
    assert isinstance(out["d1"], Reply)
    assert type(out["d2"]) is PermanentError
    assert json.loads(portal.raw[0].body or b"")["cmd"]["d2"] == "task.elapseditem.delete?TASKID=1&ITEMID=2"
