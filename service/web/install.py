"""POST /bitrix24/install (the application's install URL) and ONAPPUNINSTALL on /bitrix24/events.

The install handler is one of the two places that call the portal inside a request: it confirms the
tokens with the portal (`operations/installation.py`) before storing anything. Answers: 200 installed,
400 malformed, 401 not confirmed, 403 when our OAuth server names another portal or client_endpoint
than the call claims (or the endpoints cannot be the portal's), 404 when application mode is off, 502
when the portal cannot be asked.
"""

from __future__ import annotations

import logging

from flask import Blueprint, Response, jsonify, request
from markupsafe import escape

from service.core.appinstall import InstallRefused, UninstallRequest, parse_install
from service.core.events import BodyTooLarge, EventError, read_form
from service.web import context

log = logging.getLogger(__name__)
blueprint = Blueprint("install", __name__)


@blueprint.post("/bitrix24/install")
def install() -> tuple[Response, int]:
    installer = context.parts().installer
    if installer is None:
        return jsonify(status="error", reason="application mode is off (B24_APP_CLIENT_ID unset)"), 404
    try:
        form = read_form(request.get_data(cache=False), request.content_type)
        install_request = parse_install(form, request.query_string.decode("utf-8", errors="replace"))
    except EventError as error:
        return jsonify(status="error", reason=str(error)), 413 if isinstance(error, BodyTooLarge) else 400
    try:
        installed = installer.install(install_request)
    except InstallRefused as refused:
        log.warning("install refused", extra={"domain": install_request.domain, "reason": str(refused)})
        return jsonify(status="error", reason=str(refused)), refused.status
    if "AUTH_ID" in form:
        return _finish_page(installed.domain), 200
    return jsonify(status="installed", domain=installed.domain, binding=installed.binding), 200


# The portal's JS library, as the Bitrix24 docs include it; installFinish tells the portal we are done.
FINISH_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>b24rules installed</title>
<script src="https://api.bitrix24.com/api/v1/"></script></head>
<body><p id="installed">b24rules is installed on {domain}.</p>
<script>BX24.init(function () {{ BX24.installFinish(); }});</script>
</body></html>
"""


def _finish_page(domain: str) -> Response:
    response = Response(FINISH_PAGE.format(domain=escape(domain)), mimetype="text/html")
    # The domain passed parse_install's shape check and our OAuth server's confirmation.
    response.headers["Content-Security-Policy"] = f"frame-ancestors https://{domain}"
    response.headers["Cache-Control"] = "no-store"
    return response


def uninstall(uninstall_request: UninstallRequest) -> tuple[Response, int]:
    """ONAPPUNINSTALL, as parsed by the events endpoint."""
    installer = context.parts().installer
    if installer is None:
        return jsonify(status="error", reason="application mode is off"), 400
    try:
        dropped = installer.uninstall(uninstall_request)
    except InstallRefused as refused:
        log.warning("uninstall refused", extra={"member_id": uninstall_request.member_id})
        return jsonify(status="error", reason=str(refused)), refused.status
    return jsonify(status="uninstalled", events_set_aside=dropped), 200
