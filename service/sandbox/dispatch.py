"""One REST call through the portal's pipeline, as the Bitrix24 front end and kernel would run it.

HTTP request: injected fault (an error, or a reset: no answer) → webhook auth (401) → leaky bucket
(503) → method lookup (404) → ``call_method``. ``call_method`` (also used for each batch sub-command):
forced error → operating budget (429) → handler → operating time spent. A "lost answer" fault then
drops the reply of a call that ran. Every call is counted and logged; every body carries a ``time`` object
(https://apidocs.bitrix24.com/api-reference/data-types.html#time).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .errors import ApiError, system_error
from .model import Webhook, iso
from .params import Params, get_ci, php_int
from .portal import Portal
from .registry import METHODS, SCOPES, Call
from .stats import RequestRecord


@dataclass
class CallResult:
    status: int
    payload: dict[str, Any]  # {"result": …, "total": …, "next": …} or {"error": …, "error_description": …}
    time: dict[str, Any]
    error: str | None = None


@dataclass
class Reply:
    status: int
    body: dict[str, Any] | None
    html: str | None = None
    hang: float = 0.0
    drop: str | None = None  # "reset" | "lost": the connection is dropped instead of answering
    headers: dict[str, str] = field(default_factory=dict)


def normalize_method(name: str) -> str:
    name = name.strip().strip("/").lower()
    return name[: -len(".json")] if name.endswith(".json") else name


def time_object(portal: Portal, start: float, processing: float, op_key: str | None) -> dict[str, Any]:
    finish = max(portal.clock(), start) + processing
    operating = portal.operating.operating(op_key, start) if op_key else 0
    reset_at = portal.operating.reset_at(op_key or "", start)
    return {
        "start": start,
        "finish": finish,
        "duration": finish - start,
        "processing": processing,
        "date_start": iso(datetime.fromtimestamp(start, portal.tz)),
        "date_finish": iso(datetime.fromtimestamp(finish, portal.tz)),
        "operating_reset_at": reset_at,
        "operating": round(operating, 6),
    }


def call_method(
    portal: Portal, hook: Webhook, method: str, params: Params, in_batch: int | None, *, nested: bool = False
) -> CallResult:
    """Run one method for ``hook``; an ApiError becomes the result. Caller holds the portal lock."""
    seq = portal.stats.next_seq()
    start = portal.clock()
    op_key = f"{hook.user_id}:{method}"
    processing = 0.0
    try:
        handler = METHODS.get(method)
        if handler is None:
            raise system_error("ERROR_METHOD_NOT_FOUND")
        if nested and method == "batch":
            raise system_error("ERROR_BATCH_METHOD_NOT_ALLOWED")
        if SCOPES[method] != "basic" and SCOPES[method] not in hook.scopes:
            raise system_error("insufficient_scope")
        forced = portal.faults.forced_error(method, _task_of(params))
        if forced is not None:
            raise forced
        if method != "batch" and portal.operating.blocked(op_key, start):
            raise system_error("OPERATION_TIME_LIMIT")
        outcome = handler(Call(portal, hook, method, params, seq))
        if method != "batch":  # the outer batch does not count; its sub-commands do
            processing = portal.config.method_times.get(method, portal.config.method_time)
            portal.operating.spend(op_key, start, processing)
        payload: dict[str, Any] = {"result": outcome.result}
        if outcome.next is not None:
            payload["next"] = outcome.next
        if outcome.total is not None:
            payload["total"] = outcome.total
        result = CallResult(200, payload, time_object(portal, start, processing, op_key))
    except ApiError as exc:
        result = CallResult(exc.status, exc.body(), time_object(portal, start, 0.0, op_key), exc.code)
    portal.stats.record_call(
        RequestRecord(seq, start, method, params, result.status, result.error, hook.user_id, in_batch)
    )
    return result


def _task_of(params: Params) -> int | None:
    """The task a call is about (legacy TASKID or tasks.task.* taskId), for faults aimed at one task."""
    return php_int(get_ci(params, "TASKID", get_ci(params, "taskId")))


def handle_rest(portal: Portal, user_id: int, code: str, method: str, params: Params) -> Reply:
    """Answer one incoming-webhook HTTP request (latency is applied by the caller, outside the lock)."""
    return _handle(portal, lambda: portal.authenticate(user_id, code), user_id, method, params)


def handle_oauth(portal: Portal, token: str, method: str, params: Params) -> Reply:
    """Answer one application request: ``/rest/<method>`` with ``auth=<access token>``
    (https://apidocs.bitrix24.com/settings/oauth/index.html); the token is not a method parameter."""
    return _handle(portal, lambda: portal.app.hook_for(token, portal.clock()), 0, method, params)


Resolver = Callable[[], "Webhook | None"]


def _handle(portal: Portal, resolve: Resolver, user_id: int, method: str, params: Params) -> Reply:
    method = normalize_method(method)
    # The portal's counter counts a request when it arrives, not when an earlier one has finished.
    arrived = portal.clock()
    with portal.lock:
        start = portal.clock()
        decision = portal.faults.for_request(start)
        if decision.drop == "reset":  # reset on the way in: the kernel never sees the call
            portal.stats.record_drop("reset")
            return Reply(0, None, drop="reset")
        hook, error = _caller(resolve, decision.error)
        reply = _front_end(portal, hook, user_id, method, params, start, error, arrived)
        if reply is None:
            assert hook is not None  # checked by _front_end
            outcome = call_method(portal, hook, method, params, None)
            reply = Reply(outcome.status, {**outcome.payload, "time": outcome.time})
        elif decision.html_503:
            reply.html = "<html><body><h1>503 Service Temporarily Unavailable</h1></body></html>"
        reply.hang = decision.hang
        if decision.drop == "lost":  # the call ran; its answer never leaves the portal
            portal.stats.record_drop("lost")
            reply.drop = "lost"
        else:
            portal.stats.record_http(reply.status)
        return reply


def _caller(resolve: Resolver, fault: ApiError | None) -> tuple[Webhook | None, ApiError | None]:
    if fault is not None:
        return None, fault
    try:
        hook = resolve()
    except ApiError as error:  # expired_token and friends
        return None, error
    return (hook, None) if hook is not None else (None, system_error("NO_AUTH_FOUND"))


def _front_end(
    portal: Portal,
    hook: Webhook | None,
    user_id: int,
    method: str,
    params: Params,
    start: float,
    fault: ApiError | None,
    arrived: float,
) -> Reply | None:
    """Errors raised before the kernel runs the method (these are logged as calls too)."""
    error = fault
    if error is None and hook is not None and not portal.bucket.try_acquire(arrived):
        error = system_error("QUERY_LIMIT_EXCEEDED")
    if error is None:
        return None
    user = hook.user_id if hook is not None else user_id
    seq = portal.stats.next_seq()
    record = RequestRecord(seq, start, method, params, error.status, error.code, user, None)
    portal.stats.record_call(record)
    return Reply(error.status, {**error.body(), "time": time_object(portal, start, 0.0, None)})
