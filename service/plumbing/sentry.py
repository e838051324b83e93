"""Sentry: initialised from SENTRY_* settings; every event is scrubbed of secrets before it is sent."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import sentry_sdk
from sentry_sdk.integrations.logging import LoggingIntegration

from service.core.redaction import Redactor

log = logging.getLogger(__name__)


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


def capture_failure(error: BaseException | str, tags: Mapping[str, object], **context: object) -> None:
    """Report one failure with searchable tags (rule, task, method, error code); never raises."""
    try:
        with sentry_sdk.new_scope() as scope:
            for key, value in tags.items():
                if value is not None:
                    scope.set_tag(key, str(value))
            if context:
                scope.set_context("b24rules", dict(context))
            if isinstance(error, BaseException):
                sentry_sdk.capture_exception(error)
            else:
                sentry_sdk.capture_message(error, level="error")
    except Exception:  # reporting must never take the service down
        log.exception("could not report to Sentry")
