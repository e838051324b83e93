"""Typed Bitrix24 REST failures: every error the portal (or the road to it) can produce, in one hierarchy.

`TransientError` means "try again later" (the worker retries with backoff); `PermanentError` means
"retrying will not help" (the worker dead-letters and tells Sentry); `NotFound` is the permanent error
that, for a deletion, means the thing is already gone and counts as success.

An error carries the method, the portal's error code and description, and the HTTP status: never the
webhook URL or its code, so it is safe to log, to put in Sentry tags and to store.
System error codes: https://apidocs.bitrix24.com/api-reference/common/system-errors.html
(`_includes/system-errors.md` in bitrix24/b24restdocs).
"""

from __future__ import annotations


class BitrixError(Exception):
    """A REST call failed. `status` is the HTTP status, or None (sub-command of a batch, no answer)."""

    transient = False

    def __init__(self, code: str, description: str = "", status: int | None = None, method: str = "") -> None:
        self.code = code
        self.description = description
        self.status = status
        self.method = method
        super().__init__(self._text())

    def _text(self) -> str:
        return f"{self.method}: {self.headline}" if self.method else self.headline

    @property
    def headline(self) -> str:
        """`HTTP 503: QUERY_LIMIT_EXCEEDED: Too many requests`: status first (when there was an answer)."""
        parts = ([f"HTTP {self.status}"] if self.status is not None else []) + [self.code]
        return ": ".join(parts + ([self.description] if self.description else []))

    def __reduce__(self) -> tuple[object, ...]:
        return (_rebuild, (type(self), self.code, self.description, self.status, self.method, self._extra()))

    def _extra(self) -> dict[str, object]:
        return {}

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.code!r}, {self.description!r}, {self.status!r}, {self.method!r})"


def _rebuild(
    cls: type[BitrixError],
    code: str,
    description: str,
    status: int | None,
    method: str,
    extra: dict[str, object],
) -> BitrixError:
    error = cls.__new__(cls)
    BitrixError.__init__(error, code, description, status, method)
    error.__dict__.update(extra)
    return error


class TransientError(BitrixError):
    """Worth retrying later: overload, 5xx, timeouts, connection failures, skipped batch sub-commands."""

    transient = True


class RateLimited(TransientError):
    """503 QUERY_LIMIT_EXCEEDED: the portal's leaky bucket is full (https://apidocs.bitrix24.com/limits.html)."""


class OperationTimeLimit(TransientError):
    """429 OPERATION_TIME_LIMIT: this method used up its execution time; retry at `reset_at` (unix s).

    `reset_at` is None when the portal did not say; the client then falls back to the last
    `operating_reset_at` it saw for the method (https://apidocs.bitrix24.com/limits.html).
    """

    def __init__(
        self,
        code: str = "OPERATION_TIME_LIMIT",
        description: str = "",
        status: int | None = 429,
        method: str = "",
        reset_at: float | None = None,
    ) -> None:
        self.reset_at = reset_at
        super().__init__(code, description, status, method)

    def _extra(self) -> dict[str, object]:
        return {"reset_at": self.reset_at}


class BatchSkipped(TransientError):
    """A batch sub-command that is in neither `result` nor `result_error` (halted, or lost)."""


class PermanentError(BitrixError):
    """Retrying will not help: bad webhook, missing scope or rights, action not allowed, bad request."""


class NotFound(PermanentError):
    """The task or time entry does not exist or is not accessible: for a deletion, "already gone"."""
