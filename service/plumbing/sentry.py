"""Sentry: initialised from SENTRY_* settings; every event is scrubbed of secrets before it is sent, and
a failure that repeats (a database outage seen by every poll) is one report per episode, not one per try.

No secret by any path: stack frames carry no local variables (psycopg's connection string, settings and
tokens live in frames), the SDK's own scrubber removes values under secret-looking keys, and the
redactor masks every configured secret and secret-shaped text in whatever is left.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sentry_sdk
from sentry_sdk.integrations.logging import LoggingIntegration
from sentry_sdk.scrubber import DEFAULT_DENYLIST, EventScrubber

from service.core.redaction import Redactor

log = logging.getLogger(__name__)

# Keys the SDK's scrubber masks on top of its defaults (password, secret, token, auth, cookie, …).
_DENYLIST = [*DEFAULT_DENYLIST, "dsn", "conninfo", "database_url", "webhook_url", "access_token"]
# While an episode lasts, remind once an hour that it is still going on, with the count so far.
REMIND_SECONDS = 3600.0


def init_sentry(
    dsn: str | None,
    *,
    redactor: Redactor,
    component: str,
    environment: str | None = None,
    release: str | None = None,
    traces_sample_rate: float = 0.0,
    transport: Any = None,
) -> bool:
    """Start the SDK when a DSN is set; return whether it is on. Nothing is sent without a DSN."""
    if not dsn:
        return False

    def before_send(event: dict[str, Any], _hint: dict[str, Any]) -> dict[str, Any] | None:
        cleaned = redactor.data(event)
        assert isinstance(cleaned, dict)
        return cleaned

    options: dict[str, Any] = {
        "dsn": dsn,
        "environment": environment,
        "release": release,
        "traces_sample_rate": traces_sample_rate,
        "send_default_pii": False,
        # Frame locals hold connection strings (psycopg's conninfo has `password=`), settings, tokens.
        "include_local_variables": False,
        "event_scrubber": EventScrubber(denylist=_DENYLIST, recursive=True),
        "before_send": before_send,
        "before_send_transaction": before_send,
        "before_breadcrumb": lambda crumb, _hint: redactor.data(crumb),
        # Error logs become breadcrumbs only; failures are captured explicitly with tags.
        "integrations": [LoggingIntegration(level=logging.INFO, event_level=None)],
        "max_request_body_size": "never",
    }
    if transport is not None:
        options["transport"] = transport
    sentry_sdk.init(**options)
    sentry_sdk.set_tag("component", component)
    return True


def capture_failure(
    error: BaseException | str,
    tags: Mapping[str, object],
    *,
    fingerprint: Sequence[str] | None = None,
    level: str = "error",
    **context: object,
) -> None:
    """Report one failure with searchable tags (rule, task, method, error code); never raises."""
    try:
        with sentry_sdk.new_scope() as scope:
            for key, value in tags.items():
                if value is not None:
                    scope.set_tag(key, str(value))
            if fingerprint is not None:
                scope.fingerprint = list(fingerprint)
            if context:
                scope.set_context("b24rules", dict(context))
            if isinstance(error, BaseException):
                sentry_sdk.capture_exception(error)
            else:
                sentry_sdk.capture_message(error, level=level)  # type: ignore[arg-type]
    except Exception:  # reporting must never take the service down
        log.exception("could not report to Sentry")


@dataclass
class _Episode:
    started: float
    detail: str  # the first failure's type: the fingerprint Sentry groups the episode's reports by
    failures: int = 0
    reported_at: float | None = None


class Episodes:
    """One report per failure episode: the first failure of a kind is sent, repeats are counted (and a
    reminder sent at most every `remind_seconds`), and the first success after it sends a recovery note.

    An area is where the failures happen (`worker-loop`, `ingest`, `sweep`, …): while it fails,
    whatever the error's type (an outage shows as several), that is one episode, which the first
    success in that area ends.
    """

    def __init__(
        self,
        *,
        report: Callable[..., None] = capture_failure,
        remind_seconds: float = REMIND_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._report = report
        self._remind = remind_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._open: dict[str, _Episode] = {}

    def failed(
        self, area: str, error: BaseException | str, tags: Mapping[str, object], **context: object
    ) -> bool:
        """Count a failure; report it if it opens an episode or a reminder is due. True when reported."""
        detail = type(error).__name__ if isinstance(error, BaseException) else "message"
        now = self._clock()
        with self._lock:
            episode = self._open.setdefault(area, _Episode(started=now, detail=detail))
            episode.failures += 1
            due = episode.reported_at is None or now - episode.reported_at >= self._remind
            if due:
                episode.reported_at = now
            failures = episode.failures
        if due:
            self._report(
                error,
                {**tags, "episode": area},
                fingerprint=["b24rules", area, episode.detail],
                failures_in_episode=failures,
                **context,
            )
        return due

    def recovered(self, area: str) -> None:
        """End the open episode of `area`, with a note saying how long it lasted (if it was reported)."""
        if area not in self._open:  # the common case, on every success: no lock taken
            return
        with self._lock:
            episode = self._open.pop(area, None)
        if episode is None:
            return
        seconds = round(self._clock() - episode.started, 1)
        log.warning("recovered", extra={"area": area, "failures": episode.failures, "seconds": seconds})
        if episode.reported_at is not None:
            self._report(
                f"recovered: {area} works again after {episode.failures} failure(s) over {seconds} s",
                {"episode": area, "kind": "recovered"},
                fingerprint=["b24rules", area, episode.detail, "recovered"],
                level="info",
            )


# The process's episodes: failures of one process form one stream (like the SDK's own client).
EPISODES = Episodes()
