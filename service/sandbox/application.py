"""The portal's side of a local server application: OAuth tokens, install call, event bindings.

Written from the Bitrix24 docs (settings/oauth/index.md, settings/app-installation/local-apps/
installation-callback.md, api-reference/common/events/on-app-install.md, api-reference/events/*):
- the install posts ONAPPINSTALL (form-encoded, with access AND refresh token) to the install URL;
- an access token lives `token_ttl` seconds (3600 like the portal; shorter in tests), then REST answers
  401 `expired_token`; unknown tokens are 401 `NO_AUTH_FOUND`;
- `GET /oauth/token/?grant_type=refresh_token&client_id&client_secret&refresh_token` returns a NEW pair;
  the old refresh token is spent (`invalid_grant` if used again), a wrong secret is `invalid_client`;
- handlers bound with `event.bind` receive events with the application's auth block and token.
"""

from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass, field
from typing import Any

from .errors import ApiError, system_error
from .model import Webhook


@dataclass
class Binding:
    event: str
    handler: str
    event_type: str  # online | offline
    auth_type: int = 0
    options: dict[str, Any] = field(default_factory=dict)  # event.bind's options, e.g. minTimeout


@dataclass
class Grant:
    user_id: int
    expires_at: float


@dataclass
class Application:
    """One installed local application on one portal (the sandbox hosts one per portal)."""

    client_id: str = "local.sandbox0000000000.00000000"
    client_secret: str = "sandbox-client-secret"  # noqa: S105 (sandbox value)
    token_ttl: float = 3600.0
    application_token: str = field(default_factory=lambda: secrets.token_hex(16))
    installed: bool = False
    access: dict[str, Grant] = field(default_factory=dict)
    refresh: dict[str, int] = field(default_factory=dict)  # live refresh token → user
    bindings: list[Binding] = field(default_factory=list)
    refreshes: int = 0  # successful refresh calls (tests count them)
    offline: list[Any] = field(default_factory=list)  # offline.OfflineRow, oldest first
    offline_ids: int = 0
    offline_notified: dict[str, float] = field(default_factory=dict)  # ONOFFLINEEVENT handler → last sent
    offline_notices: list[dict[str, Any]] = field(default_factory=list)  # each ONOFFLINEEVENT post's answer
    admins: set[int] = field(default_factory=lambda: {1})  # users whose tokens act as administrators
    lock: threading.RLock = field(default_factory=threading.RLock)

    def issue(self, user_id: int, now: float) -> dict[str, Any]:
        """A fresh token pair for `user_id`, in the shape the OAuth server answers with."""
        with self.lock:
            access, refresh = secrets.token_hex(16), secrets.token_hex(16)
            self.access[access] = Grant(user_id, now + self.token_ttl)
            self.refresh[refresh] = user_id
            ttl = int(self.token_ttl)
            return {
                "access_token": access,
                "refresh_token": refresh,
                "expires": int(now) + ttl,
                "expires_in": ttl,
            }

    def hook_for(self, token: str, now: float) -> Webhook:
        """The caller behind an access token (REST with `auth=`), or the documented 401."""
        with self.lock:
            grant = self.access.get(token)
            if grant is None or not self.installed:
                raise system_error("NO_AUTH_FOUND")
            if grant.expires_at <= now:
                raise system_error("expired_token")
            return Webhook(grant.user_id, "oauth", admin=grant.user_id in self.admins, oauth=True)

    def renew(self, query: dict[str, str], now: float) -> dict[str, Any]:
        """The refresh_token grant; raises `OAuthRefused` with the OAuth server's error code."""
        with self.lock:
            if query.get("grant_type") != "refresh_token":
                raise OAuthRefused("invalid_request", "grant_type must be refresh_token")
            if query.get("client_id") != self.client_id or query.get("client_secret") != self.client_secret:
                raise OAuthRefused("invalid_client", "wrong client_id or client_secret")
            user_id = self.refresh.pop(query.get("refresh_token", ""), None)
            if user_id is None or not self.installed:
                raise OAuthRefused("invalid_grant", "refresh token is invalid or spent")
            self.refreshes += 1
            return self.issue(user_id, now)

    def uninstall(self) -> None:
        with self.lock:
            self.installed = False
            self.access.clear()
            self.refresh.clear()
            self.bindings.clear()
            self.offline.clear()

    def handlers_for(self, event: str) -> list[Binding]:
        with self.lock:
            return [b for b in self.bindings if b.event == event.upper() and b.event_type == "online"]


class OAuthRefused(Exception):
    def __init__(self, code: str, description: str) -> None:
        super().__init__(code)
        self.code = code
        self.description = description


def require_oauth(hook: Webhook) -> None:
    """event.* work only with application (OAuth) authorization (api-reference/events/event-bind.md)."""
    if not hook.oauth:
        raise ApiError(403, "WRONG_AUTH_TYPE", "Current authorization type is denied for this method")
