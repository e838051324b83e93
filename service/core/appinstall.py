"""Application install and uninstall calls: parse what the portal posts into typed requests.

Two install shapes (docs: settings/app-installation/local-apps/installation-callback.md,
api-reference/common/events/on-app-install.md):
- the ONAPPINSTALL event form: `event=ONAPPINSTALL`, `auth[access_token]`, `auth[refresh_token]`,
  `auth[expires_in]`, `auth[domain]`, `auth[member_id]`, `auth[application_token]`,
  `auth[client_endpoint]`, `auth[server_endpoint]`;
- the install page form: `AUTH_ID`, `REFRESH_ID`, `AUTH_EXPIRES`, `member_id`, `SERVER_ENDPOINT` in the
  body, `DOMAIN` and `PROTOCOL` (1 https, 0 http) in the query; an application with an interface also
  gets `APPLICATION_TOKEN` in the body (local-integrations/serverside-local-app-with-ui.md), taken when
  present and well-formed ('' otherwise).
ONAPPUNINSTALL (common/events/on-app-uninstall.md) carries no tokens: only the application token proves it.
ONOFFLINEEVENT (events/on-offline-event.md: the portal's offline queue has new rows) is proven the same way.

Pure: no I/O. Errors are `EventError` with a one-line reason that never quotes a value.
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol
from urllib.parse import parse_qsl, urlsplit

from service.core.digits import ascii_int
from service.core.events import EventError

DEFAULT_SERVER_ENDPOINT = "https://oauth.bitrix.info/rest/"
_MEMBER_ID = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
_DOMAIN = re.compile(r"^[A-Za-z0-9.-]{1,253}(?::[0-9]{1,5})?$")
_ENDPOINT = re.compile(r"^https?://[A-Za-z0-9.-]+(?::[0-9]{1,5})?/rest/$")
_TOKEN = re.compile(r"^[A-Za-z0-9_.:-]{8,512}$")


@dataclass(frozen=True)
class InstallRequest:
    member_id: str
    domain: str
    client_endpoint: str
    server_endpoint: str
    expires_in: int
    access_token: str = field(repr=False)
    refresh_token: str = field(repr=False)
    application_token: str = field(repr=False)  # '' from an install page form without APPLICATION_TOKEN


@dataclass(frozen=True)
class UninstallRequest:
    """Who sent an application event without a task (ONAPPUNINSTALL, ONOFFLINEEVENT), and its token."""

    member_id: str
    domain: str
    application_token: str = field(repr=False)


def parse_install(form: Mapping[str, object], query: str) -> InstallRequest:
    """An install request in either shape, or EventError naming what is missing or malformed."""
    if str(form.get("event", "")).upper() == "ONAPPINSTALL":
        auth = form.get("auth")
        if not isinstance(auth, dict):
            raise EventError("field 'auth' is missing")
        domain = _checked(auth, "domain", _DOMAIN, "auth[domain]")
        return InstallRequest(
            member_id=_checked(auth, "member_id", _MEMBER_ID, "auth[member_id]"),
            domain=domain.lower(),
            client_endpoint=_endpoint(auth, "client_endpoint", f"https://{domain}/rest/"),
            server_endpoint=_endpoint(auth, "server_endpoint", DEFAULT_SERVER_ENDPOINT),
            expires_in=_seconds(auth.get("expires_in")),
            access_token=_checked(auth, "access_token", _TOKEN, "auth[access_token]"),
            refresh_token=_checked(auth, "refresh_token", _TOKEN, "auth[refresh_token]"),
            application_token=_checked(auth, "application_token", _TOKEN, "auth[application_token]"),
        )
    if "AUTH_ID" in form:
        merged = {**dict(parse_qsl(query, keep_blank_values=True)), **form}
        domain = _checked(merged, "DOMAIN", _DOMAIN, "DOMAIN")
        scheme = "http" if str(merged.get("PROTOCOL", "1")) == "0" else "https"
        return InstallRequest(
            member_id=_checked(merged, "member_id", _MEMBER_ID, "member_id"),
            domain=domain.lower(),
            client_endpoint=f"{scheme}://{domain}/rest/",
            server_endpoint=_endpoint(merged, "SERVER_ENDPOINT", DEFAULT_SERVER_ENDPOINT),
            expires_in=_seconds(merged.get("AUTH_EXPIRES")),
            access_token=_checked(merged, "AUTH_ID", _TOKEN, "AUTH_ID"),
            refresh_token=_checked(merged, "REFRESH_ID", _TOKEN, "REFRESH_ID"),
            application_token=_optional(form, "APPLICATION_TOKEN"),
        )
    raise EventError("not an install call: neither event=ONAPPINSTALL nor AUTH_ID")


def parse_uninstall(form: Mapping[str, object]) -> UninstallRequest | None:
    """The ONAPPUNINSTALL event, None for any other event; EventError if it is one but malformed."""
    return _application_event(form, "ONAPPUNINSTALL")


def parse_offline_notice(form: Mapping[str, object]) -> UninstallRequest | None:
    """The ONOFFLINEEVENT notice, None for any other event; EventError if it is one but malformed."""
    return _application_event(form, "ONOFFLINEEVENT")


def token_matches(given: str, stored: str | None) -> bool:
    """Whether an application event's token is the portal's, compared in constant time."""
    return bool(stored) and bool(given) and hmac.compare_digest(given.encode(), (stored or "").encode())


def _application_event(form: Mapping[str, object], name: str) -> UninstallRequest | None:
    """An application event without a task (`name`): who sent it and its application token."""
    if str(form.get("event", "")).upper() != name:
        return None
    auth = form.get("auth")
    if not isinstance(auth, dict):
        raise EventError("field 'auth' is missing")
    return UninstallRequest(
        member_id=_checked(auth, "member_id", _MEMBER_ID, "auth[member_id]"),
        domain=_checked(auth, "domain", _DOMAIN, "auth[domain]").lower(),
        application_token=str(auth.get("application_token", "")),
    )


def _optional(form: Mapping[str, object], key: str) -> str:
    value = form.get(key)
    return value if isinstance(value, str) and _TOKEN.fullmatch(value) else ""


def _checked(form: Mapping[str, object], key: str, shape: re.Pattern[str], name: str) -> str:
    """The value exactly as sent, whole (fullmatch: `$` alone lets a trailing newline through); one with
    whitespace around it is malformed, not trimmed into another value."""
    value = form.get(key)
    if not isinstance(value, str) or not value.strip():
        raise EventError(f"field '{name}' is missing")
    if not shape.fullmatch(value):
        raise EventError(f"field '{name}' is malformed")
    return value


def _endpoint(form: Mapping[str, object], key: str, default: str) -> str:
    value = form.get(key)
    if value is None or value == "":
        return default
    if not isinstance(value, str) or not _ENDPOINT.fullmatch(value):
        raise EventError(f"field '{key}' must look like https://<host>/rest/")
    return value


def _seconds(value: object) -> int:
    seconds = ascii_int(value) if isinstance(value, str) else None
    if seconds is None:
        return 3600  # the documented lifetime of an access token
    return max(60, min(seconds, 86_400))


class InstallRefused(Exception):
    """The install or uninstall call is not genuine or cannot be checked; `str` is safe to answer with."""

    def __init__(self, reason: str, status: int = 401) -> None:
        super().__init__(reason)
        self.status = status


@dataclass(frozen=True)
class Installed:
    member_id: str
    domain: str
    binding: str


class InstallHandler(Protocol):
    """What the web's install URL and ONAPPUNINSTALL need (`service/operations/installation.py`
    implements it; web sits beside operations, so it knows only this shape)."""

    def install(self, request: InstallRequest) -> Installed: ...

    def uninstall(self, request: UninstallRequest) -> int: ...


def endpoint_problem(request: InstallRequest, plain_http_allowed: bool) -> str | None:
    """Why the posted endpoints cannot be a real portal's, or None. The portal's REST endpoint must be
    https on the portal's own host (`domain`), the OAuth server's https too; plain http only when our
    own OAuth server is plain loopback http (tests, the sandbox), where the portal's host is loopback."""
    client, server = urlsplit(request.client_endpoint), urlsplit(request.server_endpoint)
    if plain_http_allowed:
        return None
    if client.scheme != "https" or server.scheme != "https":
        return "client_endpoint and server_endpoint must be https"
    if client.netloc.lower() != request.domain.lower():
        return "client_endpoint is not on the portal's domain"
    return None
