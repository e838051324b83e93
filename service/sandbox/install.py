"""Installing and uninstalling the local application: the portal's calls to the app's URLs.

- Install (settings/app-installation/local-apps/installation-callback.md, common/events/on-app-install.md):
  the portal posts ONAPPINSTALL, form-encoded, to the app's install URL, with the first token pair,
  the endpoints and the application token. The "page" form is what an install page with UI receives:
  AUTH_ID, AUTH_EXPIRES, REFRESH_ID, SERVER_ENDPOINT, member_id, status in the body and DOMAIN,
  PROTOCOL, LANG, APP_SID in the query.
- Opening the application (local-integrations/serverside-local-app-with-ui.md, settings/oauth/
  simple-way.md): the portal POSTs the same page form to the handler URL, in the frame, with a token of
  the user who opened it (`open_app`).
- Uninstall (common/events/on-app-uninstall.md): ONAPPUNINSTALL goes to the handlers bound for it,
  with no tokens, only the application token; then every token and binding is gone.
- Task events go to every online handler bound with event.bind, with the application's auth block; a
  change bound offline is queued, and ONOFFLINEEVENT's handlers are told (offline_notice.py).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from . import offline_notice
from .offline import record_change
from .portal import Portal
from .sender import AppAuth, EventTarget, post_form


def install(
    portal: Portal, url: str, host_url: str, *, form: str = "event", user_id: int = 1
) -> dict[str, Any]:
    """Mark the app installed, issue tokens and post the install call to `url`; what was answered."""
    app, cfg = portal.app, portal.config
    with app.lock:
        app.installed = True
        tokens = app.issue(user_id, portal.clock())
    endpoint = f"{host_url}rest/"
    if form == "page":
        return _post_page(portal, url, host_url, tokens)
    pairs = [
        ("event", "ONAPPINSTALL"), ("data[VERSION]", "1"), ("data[ACTIVE]", "Y"), ("data[INSTALLED]", "Y"),
        ("data[LANGUAGE_ID]", "en"), ("ts", str(int(portal.clock()))),
        ("auth[access_token]", tokens["access_token"]), ("auth[expires]", str(tokens["expires"])),
        ("auth[expires_in]", str(tokens["expires_in"])), ("auth[scope]", "task"),
        ("auth[domain]", cfg.domain), ("auth[server_endpoint]", endpoint), ("auth[status]", "L"),
        ("auth[client_endpoint]", endpoint),
        ("auth[member_id]", cfg.member_id), ("auth[user_id]", str(user_id)),
        ("auth[refresh_token]", tokens["refresh_token"]), ("auth[application_token]", app.application_token),
    ]  # fmt: skip
    return post_form(url, pairs)


def open_app(portal: Portal, url: str, host_url: str, *, user_id: int) -> dict[str, Any]:
    """A user opens the installed application: its page form, with a fresh token of that user."""
    with portal.app.lock:
        if not portal.app.installed:
            return {"url": url, "status": None, "error": "the application is not installed"}
        tokens = portal.app.issue(user_id, portal.clock())
    return _post_page(portal, url, host_url, tokens)


def _post_page(portal: Portal, url: str, host_url: str, tokens: dict[str, Any]) -> dict[str, Any]:
    """The page form: AUTH_ID, REFRESH_ID, member_id… in the body; DOMAIN, PROTOCOL, LANG, APP_SID in
    the query."""
    cfg = portal.config
    query = urlencode({"DOMAIN": cfg.domain, "PROTOCOL": "1" if host_url.startswith("https") else "0",
                       "LANG": "en", "APP_SID": "sandbox"})  # fmt: skip
    pairs = [("AUTH_ID", tokens["access_token"]), ("AUTH_EXPIRES", str(tokens["expires_in"])),
             ("REFRESH_ID", tokens["refresh_token"]), ("SERVER_ENDPOINT", f"{host_url}rest/"),
             ("member_id", cfg.member_id), ("status", "L"), ("PLACEMENT", "DEFAULT")]  # fmt: skip
    return post_form(f"{url}{'&' if '?' in url else '?'}{query}", pairs)


def uninstall(portal: Portal) -> list[dict[str, Any]]:
    """Post ONAPPUNINSTALL to the handlers bound for it, then forget tokens and bindings."""
    app, cfg = portal.app, portal.config
    pairs = [
        ("event", "ONAPPUNINSTALL"), ("data[LANGUAGE_ID]", "en"), ("data[CLEAN]", "0"),
        ("ts", str(int(portal.clock()))), ("auth[domain]", cfg.domain), ("auth[member_id]", cfg.member_id),
        ("auth[application_token]", app.application_token),
    ]  # fmt: skip
    answers = [post_form(binding.handler, pairs) for binding in app.handlers_for("ONAPPUNINSTALL")]
    app.uninstall()
    return answers


def bound_targets(portal: Portal, event: str, task_id: int) -> list[EventTarget]:
    """Where a task event goes besides the configured targets: the app's online handlers for it.
    A change the app bound offline is queued instead (offline.py)."""
    app, cfg = portal.app, portal.config
    if not app.installed:
        return []
    if record_change(portal, event, task_id):
        offline_notice.notify(portal, event)
    targets = []
    for number, binding in enumerate(app.handlers_for(event), start=100):
        with app.lock:
            access = app.issue(1, portal.clock())["access_token"]
        target = EventTarget(binding.handler, number, app.application_token, cfg.member_id, cfg.domain)
        target.app = AppAuth(access_token=access, expires_in=int(app.token_ttl))
        targets.append(target)
    return targets
