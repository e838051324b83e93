"""How a claim ends: done, retried later (transient failure), or a dead letter (permanent failure).

Permanent failures and exhausted retries are reported to Sentry exactly once, when the event becomes a
dead letter, with tags an operator can search by: event, task, rule, method, error code. Each dead
letter is work an operator must replay, so each is reported; their fingerprint (the error code) makes
Sentry group a wave of them with one cause into one issue.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from datetime import datetime

from service.core.backoff import BASE_SECONDS, exhausted, retry_delay
from service.core.bitrix.errors import BitrixError, OperationTimeLimit, PermanentError
from service.plumbing import metrics
from service.plumbing.sentry import capture_failure
from service.store.journal import Claim, Journal

log = logging.getLogger(__name__)


class Settlement:
    def __init__(
        self,
        journal: Journal,
        *,
        retry_base: float = BASE_SECONDS,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        self._journal = journal
        self._jitter = jitter
        self._retry_base = retry_base

    def done(self, claim: Claim, now: datetime) -> None:
        self._journal.complete(claim, now)

    def failed(self, claim: Claim, error: BaseException, now: datetime, *, rule: str | None = None) -> None:
        """Retry a transient failure with backoff; dead-letter a permanent one or the last retry."""
        attempts = claim.attempts + 1
        # Only the portal can say an error is permanent; anything else (timeouts, 5xx, our own bugs
        # fixed by a rule change) is worth another try until the attempts run out.
        permanent = isinstance(error, PermanentError)
        if not permanent and not exhausted(attempts):
            not_before = None
            if isinstance(error, OperationTimeLimit) and error.reset_at is not None:
                not_before = max(0.0, error.reset_at - now.timestamp())
            delay = retry_delay(claim.attempts, self._jitter(), base=self._retry_base, not_before=not_before)
            log.warning(
                "will retry",
                extra={
                    "task_id": claim.task_id,
                    "attempt": attempts,
                    "delay_s": round(delay.total_seconds(), 1),
                    "error": describe(error),
                },
            )
            self._journal.retry(claim, now, error=describe(error), delay=delay)
            return
        reason = "permanent" if permanent else "retries exhausted"
        self._journal.dead_letter(claim, now, error=f"{reason}: {describe(error)}")
        # Per event, like the b24rules_dead_letter_events gauge (a claim may hold several).
        metrics.DEAD_LETTERS.labels(reason="permanent" if permanent else "exhausted").inc(
            len(claim.event_ids)
        )
        log.error(
            "dead letter",
            extra={
                "task_id": claim.task_id,
                "events": list(claim.event_ids),
                "reason": reason,
                "error": describe(error),
            },
        )
        capture_failure(
            error,
            tags_for(claim, error, rule),
            fingerprint=["b24rules", "dead-letter", _cause(error)],
            events=list(claim.event_ids),
            reason=reason,
        )


def _cause(error: BaseException) -> str:
    return f"{error.method}:{error.code}" if isinstance(error, BitrixError) else type(error).__name__


def describe(error: BaseException) -> str:
    if isinstance(error, BitrixError):
        return f"{error.method or 'bitrix'}: {error.headline}"[:500]  # "…: HTTP 503: CODE: text"
    return f"{type(error).__name__}: {error}"[:500]


def tags_for(claim: Claim, error: BaseException, rule: str | None) -> dict[str, object]:
    tags: dict[str, object] = {"event": claim.latest.name, "task_id": claim.task_id, "rule": rule}
    if isinstance(error, BitrixError):
        tags.update(method=error.method, error_code=error.code, http_status=error.status)
    return tags
