"""``event.bind``, ``event.unbind``, ``event.get`` and ``app.info``: application (OAuth) calls only.

Docs: https://apidocs.bitrix24.com/api-reference/events/event-bind.html (and event-unbind, event-get),
api-reference/common/system/app-info.html. A webhook calling them gets 403 ``WRONG_AUTH_TYPE``
(``app.info``: 400 ``ACCESS_DENIED`` "Application context required"); offline binding needs an admin.
"""

from __future__ import annotations

from .application import Binding, require_oauth
from .errors import ApiError
from .params import get_ci
from .registry import Call, Outcome, method

# The events this sandbox can deliver (task scope plus the application's own).
KNOWN_EVENTS = {"ONTASKADD", "ONTASKUPDATE", "ONTASKDELETE", "ONAPPUNINSTALL", "ONOFFLINEEVENT"}


def _event(call: Call) -> str:
    name = str(get_ci(call.params, "event") or "").upper()
    if name not in KNOWN_EVENTS:
        raise ApiError(400, "ERROR_EVENT_NOT_FOUND", "Event not found")
    return name


@method("event.bind", "basic")
def event_bind(call: Call) -> Outcome:
    require_oauth(call.webhook)
    name = _event(call)
    event_type = str(get_ci(call.params, "event_type") or "online").lower()
    handler = str(get_ci(call.params, "handler") or "")
    if event_type == "offline":
        if not call.webhook.admin:
            raise ApiError(
                403, "ACCESS_DENIED", "Offline events binding requires administrator access rights"
            )
        handler = ""
    elif not handler.startswith(("http://", "https://")):
        raise ApiError(400, "ERROR_WRONG_HANDLER_URL", "Wrong handler URL")
    app = call.portal.app
    with app.lock:
        if any(b.event == name and b.handler == handler and b.event_type == event_type for b in app.bindings):
            raise ApiError(400, "ERROR_CORE", "Unable to set event handler: Handler already binded")
        options = get_ci(call.params, "options")
        app.bindings.append(
            Binding(name, handler, event_type, options=dict(options) if isinstance(options, dict) else {})
        )
    return Outcome(True)


@method("event.unbind", "basic")
def event_unbind(call: Call) -> Outcome:
    require_oauth(call.webhook)
    name = _event(call)
    event_type = str(get_ci(call.params, "event_type") or "online").lower()
    handler = str(get_ci(call.params, "handler") or "")
    app = call.portal.app
    with app.lock:
        keep = [
            b
            for b in app.bindings
            if not (b.event == name and b.event_type == event_type and (not handler or b.handler == handler))
        ]
        count = len(app.bindings) - len(keep)
        app.bindings[:] = keep
    return Outcome({"count": count})


@method("event.get", "basic")
def event_get(call: Call) -> Outcome:
    require_oauth(call.webhook)
    with call.portal.app.lock:
        bindings = list(call.portal.app.bindings)
    return Outcome(
        [
            {"event": b.event, "handler": b.handler, "auth_type": str(b.auth_type), "offline": 0}
            if b.event_type == "online"
            else {"event": b.event, "connector_id": "", "offline": 1}
            for b in bindings
        ]
    )


@method("app.info", "basic")
def app_info(call: Call) -> Outcome:
    if not call.webhook.oauth:
        raise ApiError(400, "ACCESS_DENIED", "Access denied! Application context required")
    app = call.portal.app
    return Outcome(
        {"ID": 1, "CODE": app.client_id, "VERSION": 1, "STATUS": "L", "INSTALLED": app.installed,
         "PAYMENT_EXPIRED": "N", "DAYS": None, "LANGUAGE_ID": "en", "LICENSE": "en_pro100"}
    )  # fmt: skip
