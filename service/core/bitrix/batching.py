"""Several calls in one HTTP request: build a `batch` call, pack many calls into batches, unpack the answer.

`batch` takes at most 50 sub-commands (`cmd`), each a `method?query` string; it counts as one request
against the portal's rate limit, while each sub-command counts against its own method's operating time.
The answer is HTTP 200 even when sub-commands fail: failures are in `result_error`, and a section with
nothing in it comes back as `[]` instead of `{}`. Nesting a batch is refused by the server.
https://apidocs.bitrix24.com/settings/how-to-call-rest-api/batch.html
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from service.core.bitrix.calls import Call
from service.core.bitrix.encoding import command
from service.core.bitrix.errors import BatchSkipped, BitrixError
from service.core.bitrix.replies import Reply, error_from, int_or_none, operating_time

MAX_COMMANDS = 50


def batch(calls: Mapping[str, Call], halt: bool = False) -> Call:
    """The `batch` call running `calls` in order; keys name the sub-results in the answer."""
    if not 0 < len(calls) <= MAX_COMMANDS:
        raise ValueError(f"a batch holds 1 to {MAX_COMMANDS} calls, got {len(calls)}")
    for key, call in calls.items():
        _check_key(key)
        if call.method == "batch":
            raise ValueError("a batch cannot contain a batch (ERROR_BATCH_METHOD_NOT_ALLOWED)")
    cmd = {key: command(call) for key, call in calls.items()}
    return Call("batch", (("halt", 1 if halt else 0), ("cmd", cmd)))


def _check_key(key: str) -> None:
    # Keys all-digit 0..n-1 would make PHP encode the result sections as JSON lists instead of objects.
    if not key or key.isdigit() or not all(c.isalnum() or c in "_-" for c in key):
        raise ValueError(f"batch key {key!r}: use letters, digits, '_' or '-', not only digits")


def pack(calls: Sequence[Call] | Mapping[str, Call], size: int = MAX_COMMANDS) -> list[dict[str, Call]]:
    """Split calls into batches of at most `size`, in order.

    A sequence gets keys `c0`, `c1`, … by position (global, so they stay unique across batches).
    """
    if not 0 < size <= MAX_COMMANDS:
        raise ValueError(f"batch size must be 1..{MAX_COMMANDS}")
    items = list(calls.items()) if isinstance(calls, Mapping) else [(f"c{i}", c) for i, c in enumerate(calls)]
    return [dict(items[i : i + size]) for i in range(0, len(items), size)]


def unpack_batch(reply: Reply, calls: Mapping[str, Call]) -> dict[str, Reply | BitrixError]:
    """One `Reply` or error per key of `calls`, from the answer to `batch(calls)`.

    A key in neither `result` nor `result_error` (the batch halted before it, or the answer lost it)
    becomes `BatchSkipped`, a transient error: it never ran.
    """
    body = reply.result if isinstance(reply.result, dict) else {}
    results = _section(body.get("result"))
    errors = _section(body.get("result_error"))
    totals = _section(body.get("result_total"))
    nexts = _section(body.get("result_next"))
    times = _section(body.get("result_time"))
    out: dict[str, Reply | BitrixError] = {}
    for key, call in calls.items():
        if key in errors:
            error = errors[key] if isinstance(errors[key], dict) else {"error": str(errors[key])}
            out[key] = error_from(error, None, call.method)
        elif key in results:
            out[key] = Reply(
                results[key],
                int_or_none(totals.get(key)),
                int_or_none(nexts.get(key)),
                operating_time(times.get(key)),
            )
        else:
            out[key] = BatchSkipped("BATCH_SKIPPED", "sub-command not executed", None, call.method)
    return out


def _section(value: object) -> dict[str, Any]:
    """A result section as a dict: `[]` is an empty section; a list means numeric keys 0..n-1."""
    if isinstance(value, dict):
        return {str(k): v for k, v in value.items()}
    if isinstance(value, list):
        return {str(i): v for i, v in enumerate(value)}
    return {}
