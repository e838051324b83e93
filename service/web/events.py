"""POST /bitrix24/events: verify and journal an event in milliseconds, then answer; workers do the rest.

Bitrix24 never retries a delivery and slows down handlers that answer late, so this path only parses,
checks the token and hands the event to the process's group commit (`intake.py`), which answers once
the row is committed. Answers: 200 queued/ignored, 400 malformed, 401 bad credentials (nothing stored),
413 too large, 503 when the database cannot take the event. Never 500 for any body.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from functools import lru_cache

from flask import Blueprint, Response, jsonify, request
from prometheus_client import Counter

from service.core.appinstall import UninstallRequest, parse_offline_notice, parse_uninstall
from service.core.events import (
    MAX_BODY_BYTES,
    AuthVerdict,
    BodyTooLarge,
    EventError,
    parse_form,
    read_form,
    verify_auth,
)
from service.plumbing import metrics
from service.plumbing.sentry import EPISODES
from service.web import context, install, wakeup
from service.web.intake import IntakeUnavailable

log = logging.getLogger(__name__)
_JSON = "application/json"
blueprint = Blueprint("events", __name__)


def _answer(code: int, event: str, outcome: str, **body: object) -> tuple[Response, int]:
    _received(event, outcome).inc()
    return jsonify(body), code


def _accepted(event: str, outcome: str, event_id: int) -> tuple[Response, int]:
    """The 200 for a stored event: {"status": queued|ignored, "id": …}, without jsonify's generic work."""
    _received(event, outcome).inc()
    return Response(b'{"status":"%s","id":%d}\n' % (outcome.encode(), event_id), content_type=_JSON), 200


@lru_cache(maxsize=256)
def _received(event: str, outcome: str) -> Counter:
    # The labelled child, looked up once per (event, outcome) rather than on every request.
    return metrics.EVENTS_RECEIVED.labels(event=event, outcome=outcome)


@blueprint.post("/bitrix24/events")
def receive() -> tuple[Response, int]:
    started = time.perf_counter()
    parts = context.parts()
    if (request.content_length or 0) > MAX_BODY_BYTES:
        return _answer(413, "unknown", "too_large", status="error", reason="body is larger than 64 KiB")
    body = request.get_data(cache=False)
    try:
        event = parse_form(body, request.content_type)
    except EventError as error:
        if parts.installer is not None and (uninstalling := _app_call(parse_uninstall, body)) is not None:
            return install.uninstall(uninstalling)
        if parts.wakeups is not None and (notice := _app_call(parse_offline_notice, body)) is not None:
            return wakeup.wake(notice)
        too_large = isinstance(error, BodyTooLarge)
        outcome, code = ("too_large", 413) if too_large else ("malformed", 400)
        # The reason never quotes values, but a key may be anything the sender typed: mask known secrets.
        reason = parts.redactor.text(str(error))
        return _answer(code, "unknown", outcome, status="error", reason=reason)

    expected = (
        parts.application_token if parts.portal_tokens is None else parts.portal_tokens(event.member_id)
    )
    verdict = verify_auth(event, expected or "", parts.member_id)
    if verdict is not AuthVerdict.OK:
        log.warning("event refused", extra={"event": event.name, "reason": verdict.value})
        return _answer(401, event.name, "unauthorized", status="error", reason=verdict.value)

    ruleset = parts.rules.current()
    listened = ruleset is not None and bool(ruleset.for_event(event.name))
    try:
        event_id = context.intake().append(event, "pending" if listened else "ignored")
    except IntakeUnavailable as error:  # the database is down, full or stuck: say so, report, do not pretend
        cause = error.__cause__ or error
        extra = {"event": event.name, "task_id": event.task_id, "reason": str(error)}
        log.error("could not store event", exc_info=cause, extra=extra)
        # Every request of an outage fails alike: one report per episode (per web process).
        EPISODES.failed("ingest", cause, {"event": event.name, "task_id": event.task_id, "stage": "ingest"})
        return _answer(503, event.name, "unavailable", status="error", reason="event store unavailable")
    EPISODES.recovered("ingest")
    metrics.INGEST_SECONDS.observe(time.perf_counter() - started)
    return _accepted(event.name, "queued" if listened else "ignored", event_id)


def _app_call(
    parse: Callable[[Mapping[str, object]], UninstallRequest | None], body: bytes
) -> UninstallRequest | None:
    """ONAPPUNINSTALL or ONOFFLINEEVENT (application mode): they have no task id, so they are looked for
    only once parsing as a task event failed."""
    try:
        return parse(read_form(body, request.content_type))
    except EventError:
        return None
