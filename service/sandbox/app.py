"""The sandbox's Flask app: incoming-webhook REST routes plus the ``/_sandbox`` control API.

REST: ``GET|POST /rest/<user_id>/<code>/<method>[.json]``, JSON or form body, query string merged
in front of the body. Responses are serialised with key order kept (never sorted).
"""

from __future__ import annotations

import json
import time
from functools import partial
from typing import Any

from flask import Blueprint, Flask, Response, request

# Importing these modules registers their REST methods.
from . import (  # noqa: F401
    batch,
    elapsed_api,
    events_api,
    messages_api,
    offline,
    system_api,
    tasks_api,
)
from .application import OAuthRefused
from .connection import DROP_KEY, drop_middleware
from .control import control_blueprint
from .dispatch import Reply, handle_oauth, handle_rest
from .errors import system_error
from .install import bound_targets
from .params import parse_body, parse_php_query
from .portal import Portal
from .sender import EventSender


def json_response(body: Any, status: int = 200) -> Response:
    return Response(json.dumps(body, ensure_ascii=False), status=status, mimetype="application/json")


def _request_params() -> dict[str, Any]:
    params = parse_php_query(request.query_string.decode("utf-8", errors="replace"))
    body = parse_body(request.content_type or "", request.get_data(cache=False))
    return {**params, **body}


def rest_blueprint(portal: Portal) -> Blueprint:
    bp = Blueprint("rest", __name__)

    @bp.route("/rest/<int:user_id>/<code>/<path:method>", methods=["GET", "POST"])
    def webhook_call(user_id: int, code: str, method: str) -> Response:
        latency = portal.faults.config.latency
        if latency > 0:
            time.sleep(latency)
        return answer(handle_rest(portal, user_id, code, method, _request_params()))

    def answer(reply: Reply) -> Response:
        if reply.hang > 0:  # the work is done, the answer comes too late for the client
            portal.wake.wait(reply.hang)
        if reply.drop is not None:  # drop_middleware cuts the connection instead of answering
            request.environ[DROP_KEY] = reply.drop
            return Response(status=500)
        if reply.html is not None:
            return Response(reply.html, status=reply.status, mimetype="text/html")
        return json_response(reply.body, reply.status)

    @bp.route("/rest/<path:method>", methods=["GET", "POST"])
    def application_call(method: str) -> Response:
        # Application calls carry ``auth=<access token>`` in the query or the body.
        params = _request_params()
        token = params.pop("auth", None)
        if not isinstance(token, str) or not token:
            return json_response(system_error("NO_AUTH_FOUND").body(), 401)
        latency = portal.faults.config.latency
        if latency > 0:
            time.sleep(latency)
        return answer(handle_oauth(portal, token, method, params))

    @bp.get("/oauth/token/")
    def oauth_token() -> Response:
        # The OAuth server (oauth.bitrix.info in the cloud): refresh_token grant only. It answers for
        # whichever portal the refresh token belongs to (this one or a peer), naming that portal.
        query = {key: str(value) for key, value in request.args.items()}
        refused = OAuthRefused("invalid_grant", "refresh token is invalid or spent")
        for member, base in [(portal, request.host_url), *portal.oauth_peers]:
            try:
                return json_response(member.app.renew(query, member.clock()) | _grant_context(member, base))
            except OAuthRefused as error:
                refused = error
                if error.code != "invalid_grant":
                    break
        return json_response({"error": refused.code, "error_description": refused.description}, 400)

    return bp


def _grant_context(portal: Portal, base: str) -> dict[str, Any]:
    # settings/oauth/index.md: `domain` in the token reply is the authorization server's own domain;
    # the portal is named by `member_id` and `client_endpoint`.
    return {
        "domain": request.host,
        "member_id": portal.config.member_id,
        "client_endpoint": f"{base}rest/",
        "server_endpoint": f"{request.host_url}rest/",
        "scope": "task",
        "status": "L",
    }


def create_sandbox_app(portal: Portal, sender: EventSender | None = None) -> Flask:
    """The WSGI app serving ``portal``; ``sender`` posts events (one is created if omitted)."""
    app = Flask("b24rules_sandbox")
    app.config["SANDBOX_PORTAL"] = portal
    app.config["SANDBOX_SENDER"] = sender or EventSender()
    app.config["SANDBOX_SENDER"].bound = partial(bound_targets, portal)
    app.register_blueprint(rest_blueprint(portal))
    app.register_blueprint(control_blueprint(portal, app.config["SANDBOX_SENDER"]))
    app.wsgi_app = drop_middleware(app.wsgi_app)  # type: ignore[method-assign]
    return app
