"""ONOFFLINEEVENT on /bitrix24/events: a portal says its offline queue has new rows (offline delivery).

Verified like every application event (that portal's application token, constant time); then the
portal's wake-up mark is set in the database (`store/wakeups.py`) and the answer is 200. Nothing else:
no REST call, no journal row; the portal's poller sees the mark and pulls at once. A refused notice
stores nothing.
"""

from __future__ import annotations

import logging

from flask import Response, jsonify

from service.core.appinstall import UninstallRequest, token_matches
from service.plumbing.clock import utcnow
from service.web import context

log = logging.getLogger(__name__)


def wake(notice: UninstallRequest) -> tuple[Response, int]:
    parts = context.parts()
    if parts.wakeups is None or parts.portal_tokens is None:
        return jsonify(status="error", reason="offline delivery with application mode is off"), 400
    if not token_matches(notice.application_token, parts.portal_tokens(notice.member_id)):
        log.warning("offline notice refused", extra={"member_id": notice.member_id})
        return jsonify(status="error", reason="application token does not match this portal's"), 401
    parts.wakeups.mark(notice.member_id, utcnow())
    return jsonify(status="woken"), 200
