"""Who may see the status page: sign-in with B24_UI_TOKEN, a signed session cookie, CSRF on every POST.

The session is a cookie of our own, signed with a key derived from the token (HMAC), not Flask's
`session`: the app then needs no SECRET_KEY, the event endpoint's requests never open a session, and
changing the token signs everyone out. The cookie is HttpOnly, scoped to /ui; an operator's is
SameSite=Strict and Secure unless B24_UI_COOKIE_SECURE=false (plain-http loopback only).

A portal administrator (application mode, `portalsignin.py`) works inside the portal's frame: a
cross-site frame, where a SameSite=Strict or Lax cookie is never sent. Their cookie is SameSite=None,
always Secure, and Partitioned (CHIPS: kept per top-level site, so it exists only inside that portal's
frame and cannot be used from anywhere else). Cross-site requests then carry it, so the CSRF token in
every form is what stops a forged POST, as for everyone. Their session is pinned to their portal.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from flask import abort, g, redirect, render_template, request, url_for
from itsdangerous import BadSignature, URLSafeTimedSerializer
from werkzeug.wrappers import Response

from service.web.ui.parts import UiParts, ui_parts

COOKIE = "b24rules_ui"
COOKIE_PATH = "/ui"
SESSION_SECONDS = 12 * 3600
MAX_NAME_CHARS = 80
PUBLIC_ENDPOINTS = frozenset({"ui.sign_in", "ui.sign_in_post", "ui.portal_sign_in", "ui.static"})


@dataclass(frozen=True)
class Identity:
    """A signed-in person: the name they gave (or the portal knows), how they got in, and the portal
    whose data they see (application mode; '' = the webhook portal, or no portal chosen yet)."""

    name: str
    via: str  # "token", or "portal admin, <domain>"
    csrf: str
    portal: str = ""  # member id
    pinned: bool = False  # a portal administrator: their own portal only, framed by it
    domain: str = ""  # the portal's domain as stored at install

    @property
    def label(self) -> str:
        """What operator_actions records as the actor."""
        return f"{self.name} ({self.via})"

    def fields(self) -> dict[str, object]:
        return {"name": self.name, "via": self.via, "csrf": self.csrf, "portal": self.portal,
                "pinned": self.pinned, "domain": self.domain}  # fmt: skip


def _signer(parts: UiParts) -> URLSafeTimedSerializer:
    key = hmac.new(parts.token.encode(), b"b24rules status page session", hashlib.sha256).digest()
    return URLSafeTimedSerializer(key, salt="b24rules-ui-session")


def token_matches(parts: UiParts, offered: str) -> bool:
    """Constant-time: how much of the token was right is not told by the time the answer takes."""
    return hmac.compare_digest(offered.encode(), parts.token.encode())


def current_identity(parts: UiParts) -> Identity | None:
    raw = request.cookies.get(COOKIE)
    if raw:
        try:
            data = _signer(parts).loads(raw, max_age=SESSION_SECONDS)
        except BadSignature:
            data = None
        if isinstance(data, dict) and {"name", "via", "csrf"} <= data.keys():
            return Identity(
                str(data["name"]),
                str(data["via"]),
                str(data["csrf"]),
                str(data.get("portal") or ""),
                data.get("pinned") is True,
                str(data.get("domain") or ""),
            )
    return None


def start_session(response: Response, parts: UiParts, identity: Identity) -> Identity:
    """Sign `identity` in (or re-sign it with a new portal chosen): the cookie its kind of session uses."""
    value = _signer(parts).dumps(identity.fields())
    response.set_cookie(COOKIE, value, max_age=SESSION_SECONDS, **_cookie_kind(parts, identity.pinned))
    return identity


def new_identity(
    name: str, via: str, *, portal: str = "", pinned: bool = False, domain: str = ""
) -> Identity:
    """A fresh session's identity, with its own CSRF token."""
    return Identity(name, via, secrets.token_urlsafe(32), portal, pinned, domain)


def end_session(response: Response, parts: UiParts, identity: Identity | None) -> None:
    response.delete_cookie(COOKIE, **_cookie_kind(parts, identity is not None and identity.pinned))


def _cookie_kind(parts: UiParts, framed: bool) -> dict[str, Any]:
    if framed:  # inside the portal's frame: see the module's docstring
        return {
            "path": COOKIE_PATH,
            "httponly": True,
            "secure": True,
            "samesite": "None",
            "partitioned": True,
        }
    return {"path": COOKIE_PATH, "httponly": True, "secure": parts.cookie_secure, "samesite": "Strict"}


def guard() -> Response | None:
    """Before every /ui request: signed in, and on a POST the session's CSRF token in the form."""
    if request.endpoint in PUBLIC_ENDPOINTS:
        return None
    identity = current_identity(ui_parts())
    if identity is None:
        if request.method == "GET":
            return redirect(url_for("ui.sign_in", next=request.full_path.rstrip("?")))
        abort(401, "sign in first")
    if request.method == "POST":
        offered = request.form.get("csrf", "")
        if not offered or not hmac.compare_digest(offered.encode(), identity.csrf.encode()):
            abort(403, "the form's CSRF token is missing or wrong; reload the page and try again")
    g.operator = identity
    return None


def current_operator() -> Identity | None:
    """For templates: the signed-in person, or None (sign-in and error pages)."""
    identity = g.get("operator")
    return identity if isinstance(identity, Identity) else None


def operator() -> Identity:
    identity = g.get("operator")
    assert isinstance(identity, Identity)
    return identity


def safe_next(value: str | None) -> str:
    """Only a path under /ui (no scheme or host): sign-in must not become an open redirect."""
    parsed = urlsplit(value or "")
    if parsed.scheme or parsed.netloc or not parsed.path.startswith("/ui"):
        return url_for("ui.overview")
    return value or url_for("ui.overview")


def sign_in() -> str:
    return render_template("sign_in.html", next=request.args.get("next", ""), problem="")


def sign_in_post() -> Response | tuple[str, int]:
    parts = ui_parts()
    name = " ".join(request.form.get("name", "").split())[:MAX_NAME_CHARS]
    offered = request.form.get("token", "")
    problem = ""
    if not name:
        problem = "Type your name: the actions you take are recorded under it."
    elif not token_matches(parts, offered):
        problem = "That token is not the one configured in B24_UI_TOKEN."
    if problem:
        return render_template("sign_in.html", next=request.form.get("next", ""), problem=problem), 401
    response = redirect(safe_next(request.form.get("next")))
    start_session(response, parts, new_identity(name, "token"))
    return response


def sign_out() -> Response:
    response = redirect(url_for("ui.sign_in"))
    end_session(response, ui_parts(), current_operator())
    return response
