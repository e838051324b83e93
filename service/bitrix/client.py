"""The HTTP client for one portal: sends the bytes `service.core.bitrix` builds, signed by an auth strategy.

It POSTs JSON to `https://<portal>/rest/<user>/<code>/<method>` (incoming webhook) or to the installed
portal's `client_endpoint` with `auth=` (OAuth, `auth.py`; an expired token is renewed once and the call
repeated), takes a limiter token before every
request, backs off and retries on 503 QUERY_LIMIT_EXCEEDED, and on 429 OPERATION_TIME_LIMIT records a
pause for the method and raises (the caller reschedules). The webhook URL is a secret: it never appears
in a log line, an exception or a repr, and `requests` exceptions (whose text holds the URL) are never
chained onto ours.
https://apidocs.bitrix24.com/local-integrations/local-webhooks.html
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Collection, Mapping

import requests

from service.bitrix.auth import RestAuth, Signed, WebhookAuth, WebhookUrlError
from service.bitrix.limiter import Limiter
from service.core.bitrix import (
    BitrixError,
    Call,
    OperationTimeLimit,
    RateLimited,
    Reply,
    TransientError,
    batch,
    classify,
    json_body,
    unpack_batch,
)

# When a 429 carries no reset time and we saw none for the method: one of the ten one-minute baskets.
_DEFAULT_PAUSE = 60.0
# The cloud portal interrupts a REST request after 60 s (https://apidocs.bitrix24.com/limits.html). We
# wait a little longer for the answer: giving up sooner would retry a slow batch the portal is still
# running (its deletions happen anyway), and we would never see the answer it does send. Connecting
# is quick when the portal is up, so that stays short.
CONNECT_TIMEOUT = 3.05
READ_TIMEOUT = 65.0

Outcome = Callable[[str, str], None]


__all__ = ["BitrixClient", "WebhookUrlError"]


class BitrixClient:
    """Calls one portal through its incoming webhook URL or an auth strategy, within `limiter`."""

    def __init__(
        self,
        webhook_url: str | RestAuth,
        limiter: Limiter,
        *,
        timeout: tuple[float, float] = (CONNECT_TIMEOUT, READ_TIMEOUT),
        session: requests.Session | None = None,
        on_request: Outcome | None = None,  # (method, outcome) per HTTP request, for metrics
        on_call: Outcome | None = None,  # (method, outcome) per method called, batch sub-commands too
        max_attempts: int = 4,
        backoff: float = 1.0,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._auth: RestAuth = WebhookAuth(webhook_url) if isinstance(webhook_url, str) else webhook_url
        self.portal = self._auth.portal
        self._limiter = limiter
        self._timeout = timeout
        self._session = session or requests.Session()
        self._on_request = on_request or (lambda _method, _outcome: None)
        self._on_call = on_call or (lambda _method, _outcome: None)
        self._max_attempts = max(1, max_attempts)
        self._backoff = backoff
        self._sleep, self._clock = sleep, clock
        self._reset_at: dict[str, float] = {}  # last operating_reset_at seen per method

    def __repr__(self) -> str:
        return f"BitrixClient(portal={self.portal!r})"

    def call(self, call: Call) -> Reply:
        """Send one call; its `Reply`, or raises a `BitrixError`."""
        try:
            reply = self._send(call, ())
        except BitrixError as error:
            self._on_call(call.method, _outcome(error))
            raise
        self._on_call(call.method, "ok")
        return reply

    def batch(self, calls: Mapping[str, Call], halt: bool = False) -> dict[str, Reply | BitrixError]:
        """Send up to 50 calls in one request; one `Reply` or error per key (a failed request raises)."""
        methods = {call.method for call in calls.values()}
        try:
            reply = self._send(batch(calls, halt), methods)
        except BitrixError as error:
            for sub in calls.values():
                self._on_call(sub.method, _outcome(error))
            raise
        out = unpack_batch(reply, calls)
        for key, value in out.items():
            self._observe(calls[key].method, value)
            self._on_call(calls[key].method, "ok" if isinstance(value, Reply) else _outcome(value))
        return out

    def _send(self, call: Call, sub_methods: Collection[str]) -> Reply:
        body = json_body(call)
        signed = self._auth.sign(call.method, body)
        try:
            return self._attempts(call, sub_methods, signed)
        except BitrixError as error:
            if not self._auth.renew(error, signed.credential):
                raise
        return self._attempts(call, sub_methods, self._auth.sign(call.method, body))  # once, renewed

    def _attempts(self, call: Call, sub_methods: Collection[str], signed: Signed) -> Reply:
        for attempt in range(1, self._max_attempts + 1):
            try:
                self._limiter.acquire(call.method, also=sub_methods)
            except OperationTimeLimit:
                self._on_request(call.method, "paused")
                raise
            try:
                reply = classify(*self._post(call.method, signed), call.method)
            except RateLimited:
                self._on_request(call.method, "rate_limited")
                if attempt == self._max_attempts:
                    raise
                self._sleep(self._delay(attempt))
                continue
            except BitrixError as error:
                self._observe(call.method, error)
                self._on_request(call.method, _outcome(error))
                raise
            self._observe(call.method, reply)
            self._on_request(call.method, "ok")
            return reply
        raise AssertionError("unreachable")  # pragma: no cover

    def _post(self, method: str, signed: Signed) -> tuple[int, bytes]:
        failure: str | None = None
        try:
            response = self._session.post(
                signed.url,
                data=signed.body,
                headers={"Content-Type": "application/json", "Accept": "application/json"},
                timeout=self._timeout,
            )
            return response.status_code, response.content
        except requests.Timeout:
            failure = "TIMEOUT"
        except requests.RequestException as exc:
            failure = f"CONNECTION_ERROR:{type(exc).__name__}"
        # Raised outside the except block: requests' messages contain the URL, so no chaining.
        code, _, kind = failure.partition(":")
        raise TransientError(code, kind or "no answer in time", None, method)

    def _delay(self, attempt: int) -> float:
        # Exponential backoff with full jitter, capped at one minute.
        return float(random.uniform(0, min(60.0, self._backoff * 2 ** (attempt - 1))))

    def _observe(self, method: str, value: Reply | BitrixError) -> None:
        if isinstance(value, Reply) and value.time.operating_reset_at is not None:
            self._reset_at[method] = value.time.operating_reset_at
        elif isinstance(value, OperationTimeLimit):
            value.reset_at = self._pause_until(method, value)
            self._limiter.pause(method, value.reset_at)

    def _pause_until(self, method: str, error: OperationTimeLimit) -> float:
        now = self._clock()
        for candidate in (error.reset_at, self._reset_at.get(method)):
            if candidate is not None and candidate > now:
                return candidate
        return now + _DEFAULT_PAUSE


def _outcome(error: BitrixError) -> str:
    if isinstance(error, OperationTimeLimit):
        return "operation_time_limit"
    if error.code == "TIMEOUT":
        return "timeout"
    if error.code == "CONNECTION_ERROR":
        return "connection_error"
    return "transient" if error.transient else "permanent"
