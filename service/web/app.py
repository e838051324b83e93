"""Flask app factory: the HTTP face of b24rules (event intake, health, metrics, and the status page when
B24_UI_TOKEN is set). No REST calls on the event path; the status page's actions are the exception."""

from __future__ import annotations

from flask import Flask, Response, jsonify, request
from werkzeug.exceptions import ClientDisconnected, HTTPException

from service.core.events import MAX_BODY_BYTES
from service.web import context, events, health, install
from service.web.drain import BODY_SECONDS, TIMED_OUT, DrainUnreadBody
from service.web.intake import GroupCommit
from service.web.ui import register as register_ui
from service.web.ui.parts import UiParts


def create_app(parts: context.WebParts, ui: UiParts | None = None) -> Flask:
    app = Flask("b24rules")
    # One byte over the limit: a chunked body (no Content-Length) is cut at this size by werkzeug without
    # an error, so the extra byte is what lets parse_form see it was too large (413) instead of
    # accepting a truncated body.
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES + 1
    app.extensions[context.PARTS] = parts
    # Its writer thread starts with the first event, in the gunicorn worker (after the fork).
    app.extensions[context.INTAKE] = GroupCommit(parts.journal)
    app.register_blueprint(events.blueprint)
    app.register_blueprint(health.blueprint)
    if ui is not None:  # the status page is off unless its sign-in token is configured
        register_ui(app, ui)
    app.register_blueprint(install.blueprint)
    # Every answer given before the body was read (413, 400, 401, 404 …) keeps keep-alive clients working.
    app.wsgi_app = DrainUnreadBody(app.wsgi_app)  # type: ignore[method-assign]

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> tuple[Response, int]:
        # One-line JSON for every error the framework raises (404, 405, 413 …), never an HTML page.
        return jsonify(status="error", error=error.name.lower(), reason=error.description), error.code or 500

    @app.errorhandler(ClientDisconnected)
    def body_cut_short(error: ClientDisconnected) -> tuple[Response, int]:
        # The body stopped arriving: werkzeug reports a failed read of it (our socket's bound,
        # drain.bound_reads, or a reset) as ClientDisconnected. Answered, and the connection closed
        # without reading more of it.
        request.environ[TIMED_OUT] = True
        if isinstance(error.__context__, TimeoutError):
            reason = f"the request body did not arrive within {BODY_SECONDS:.0f} s"
            return jsonify(status="error", error="request timeout", reason=reason), 408
        return jsonify(status="error", error="bad request", reason="the request body was cut short"), 400

    return app


def close_app(app: object) -> None:
    """Commit what the intake holds and stop its writer (gunicorn's worker_exit; a no-op for other apps)."""
    extensions = getattr(app, "extensions", {})
    intake = extensions.get(context.INTAKE)
    if isinstance(intake, GroupCommit):
        intake.close()
