"""Which portal's data a status page request shows (application mode: one installed portal at a time).

A portal administrator's session is pinned to their own portal. An operator (token sign-in) picks one
in the header's picker; the choice is kept in their signed session cookie (re-signed on each choice)
and falls back to the first installed portal when none or a gone one is kept. Webhook mode has one
portal, '' (every row).
"""

from __future__ import annotations

from flask import abort, g, redirect, request
from werkzeug.wrappers import Response

from service.store.portals import ACTIVE
from service.web.ui.access import Identity, current_operator, operator, safe_next, start_session
from service.web.ui.parts import PortalChoice, PortalView, ui_parts


def settle() -> None:
    """Before every /ui request, after the guard let the person in: this request's portal and view."""
    identity = current_operator()
    if identity is None:  # sign-in pages: no portal data
        return
    parts = ui_parts()
    if identity.pinned and not any(
        choice.member_id == identity.portal and choice.status == ACTIVE for choice in parts.portals()
    ):  # uninstalled, or its tokens cannot be renewed: the sign-in it was given no longer holds
        abort(401, "b24rules is no longer installed on your portal, or needs reinstalling: open it again")
    choices = [] if identity.pinned else parts.portals()
    g.portal_choices = choices
    g.portal = identity.portal if identity.pinned else _kept_or_first(identity.portal, choices)
    g.view = parts.view(g.portal)


def _kept_or_first(kept: str, choices: list[PortalChoice]) -> str:
    if any(choice.member_id == kept for choice in choices):
        return kept
    return choices[0].member_id if choices else ""


def current_view() -> PortalView:
    view = g.get("view")
    assert isinstance(view, PortalView)
    return view


def choices_for_template() -> list[PortalChoice]:
    found = g.get("portal_choices", [])
    return list(found) if isinstance(found, list) else []


def choose() -> Response:
    """POST /ui/portal/choose (CSRF-checked by the guard): show another installed portal."""
    parts = ui_parts()
    identity = operator()
    if identity.pinned:
        abort(403, "a portal administrator sees their own portal only")
    wanted = request.form.get("portal", "")
    if not any(choice.member_id == wanted for choice in parts.portals()):
        abort(400, "no such installed portal")
    response = redirect(safe_next(request.form.get("next")), code=303)
    start_session(response, parts, Identity(identity.name, identity.via, identity.csrf, portal=wanted))
    return response
