"""``ONOFFLINEEVENT``: the portal tells the application that its offline queue has new rows.

Docs: api-reference/events/on-offline-event.md, offline-events.md ("Tricks"). The application binds it
online (``event.bind`` with a ``handler`` and optionally ``options[minTimeout]``, default 1 s). When a
change is queued offline, the handler gets one notice; the next one only once at least ``minTimeout``
seconds have passed since the last (``0``: one per hit, i.e. per queued change here). A change inside
that pause gets no notice of its own: the application finds it at its next pull. The body is the usual
form: ``event``, ``data[type]`` (add/update/remove), ``data[event]`` (the queued event, e.g.
onTaskUpdate), ``data[handler]``, ``data[minTimeout]``, ``ts`` and the application's auth block, which
for this event carries the refresh token too.
"""

from __future__ import annotations

from typing import Any

from .portal import Portal
from .sender import post_form

DEFAULT_MIN_TIMEOUT = 1.0
_TYPES = {"ONTASKADD": ("add", "onTaskAdd"), "ONTASKUPDATE": ("update", "onTaskUpdate"),
          "ONTASKDELETE": ("remove", "onTaskDelete")}  # fmt: skip


def notify(portal: Portal, event: str) -> list[dict[str, Any]]:
    """Post ONOFFLINEEVENT to each handler bound for it whose pause is over; what each answered."""
    app, cfg = portal.app, portal.config
    now = portal.clock()
    due: list[tuple[str, float, dict[str, Any]]] = []
    with app.lock:
        for binding in app.handlers_for("ONOFFLINEEVENT"):
            pause = _min_timeout(binding.options)
            last = app.offline_notified.get(binding.handler)
            if last is not None and pause > 0 and now - last < pause:
                continue
            app.offline_notified[binding.handler] = now
            due.append((binding.handler, pause, app.issue(1, now)))
        token = app.application_token
    kind, name = _TYPES.get(event.upper(), ("update", event))
    answers = []
    for handler, pause, tokens in due:
        endpoint = f"https://{cfg.domain}/rest/"
        pairs = [
            ("event", "ONOFFLINEEVENT"), ("data[type]", kind), ("data[event]", name),
            ("data[handler]", handler), ("data[minTimeout]", str(int(pause))), ("ts", str(int(now))),
            ("auth[access_token]", tokens["access_token"]), ("auth[expires]", str(tokens["expires"])),
            ("auth[expires_in]", str(tokens["expires_in"])), ("auth[scope]", "task"),
            ("auth[domain]", cfg.domain), ("auth[server_endpoint]", "https://oauth.bitrix.info/rest/"),
            ("auth[status]", "L"), ("auth[client_endpoint]", endpoint), ("auth[member_id]", cfg.member_id),
            ("auth[user_id]", "1"), ("auth[refresh_token]", tokens["refresh_token"]),
            ("auth[application_token]", token),
        ]  # fmt: skip
        answers.append(post_form(handler, pairs))
    with app.lock:
        app.offline_notices.extend(answers)
    return answers


def _min_timeout(options: dict[str, Any]) -> float:
    for key, value in options.items():
        if key.lower() == "mintimeout":
            try:
                return max(float(value), 0.0)
            except (TypeError, ValueError):
                return DEFAULT_MIN_TIMEOUT
    return DEFAULT_MIN_TIMEOUT
