"""The status page under /ui: a blueprint of its own, registered only when B24_UI_TOKEN is set.

Nothing here runs for the event endpoint: the guard, the templates and the security headers belong to
this blueprint alone. Templates and the stylesheet ship inside the package (no build step, nothing
loaded from the internet, no script).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from flask import Blueprint, Flask, Response, g, render_template
from werkzeug.exceptions import HTTPException

from service.web.ui import access, actions, pages, portalsignin, scope
from service.web.ui.parts import UI, UiParts, ui_parts

CSP = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; base-uri 'none'; "
# No page may be framed, except a portal administrator's: by their own portal (its domain as stored at
# install, never one from the request), which opens b24rules in its frame.
FRAMED_BY_NOBODY = "frame-ancestors 'none'"
HOST = re.compile(r"[a-z0-9]([a-z0-9.-]*[a-z0-9])?(:[0-9]{1,5})?")
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def make_blueprint() -> Blueprint:
    blueprint = Blueprint(
        "ui", __name__, url_prefix="/ui", template_folder="templates", static_folder="static"
    )
    blueprint.before_request(access.guard)
    blueprint.before_request(scope.settle)  # runs only when the guard let the request through
    routes = (
        ("/sign-in", "sign_in", access.sign_in, ["GET"]),
        ("/sign-in", "sign_in_post", access.sign_in_post, ["POST"]),
        ("/sign-out", "sign_out", access.sign_out, ["POST"]),
        ("/portal", "portal_sign_in", portalsignin.sign_in, ["POST"]),
        ("/portal/choose", "choose_portal", scope.choose, ["POST"]),
        ("/", "overview", pages.overview, ["GET"]),
        ("/activity", "activity", pages.activity, ["GET"]),
        ("/audit", "audit", pages.audit, ["GET"]),
        ("/rules", "rules", pages.rules_page, ["GET"]),
        ("/rules/simulate", "simulate", pages.simulate, ["POST"]),
        ("/actions", "actions", pages.operator_actions, ["GET"]),
        ("/actions/<int:action_id>", "action_done", actions.action_done, ["GET"]),
        ("/confirm/<name>", "confirm", actions.confirm, ["GET"]),
        ("/act/<name>", "act", actions.act, ["POST"]),
    )
    for rule, endpoint, view, methods in routes:
        blueprint.add_url_rule(rule, endpoint, view, methods=methods)
    blueprint.after_request(_secure)
    blueprint.register_error_handler(HTTPException, _error_page)
    blueprint.app_template_filter("when")(_when)
    blueprint.context_processor(_helpers)
    return blueprint


def register(app: Flask, parts: UiParts) -> None:
    app.extensions[UI] = parts
    app.register_blueprint(make_blueprint())


def _helpers() -> dict[str, object]:
    return {
        "operator": access.current_operator,
        "redact": ui_parts().redactor.text,
        "portal_choices": scope.choices_for_template,
        "shown_portal": lambda: g.get("portal", ""),
    }


def _secure(response: Response) -> Response:
    response.headers.update(SECURITY_HEADERS)
    response.headers["Content-Security-Policy"] = CSP + _frame_ancestors()
    return response


def _frame_ancestors() -> str:
    identity = access.current_operator()
    domain = str(g.get("frame_domain") or (identity.domain if identity and identity.pinned else ""))
    if not HOST.fullmatch(domain.lower()):
        return FRAMED_BY_NOBODY
    return f"frame-ancestors https://{domain.lower()}"


def _error_page(error: HTTPException) -> tuple[str, int]:
    code = error.code or 500
    return render_template("error.html", code=code, name=error.name, reason=error.description), code


def _when(value: datetime | None) -> str:
    return "—" if value is None else value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
