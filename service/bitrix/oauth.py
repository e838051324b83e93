"""OAuth 2.0 for installed portals: the refresh call to the OAuth server, and a portal's token keeper.

Access tokens live an hour and are refreshed lazily, on a 401 `expired_token`, never on a timer (the
OAuth server may block clients that refresh too eagerly). Each refresh returns a NEW refresh token and
spends the old one, so the new pair is saved before the access token is used, and only one process
refreshes a portal at a time (the lease in `store/portals.py`); the others wait for the new pair.
A refresh the OAuth server refuses (`invalid_grant`: the refresh token ran out or was revoked,
`invalid_client`, …) cannot get better by retrying: the portal is marked `needs-reinstall` and reported
once, and its work stops failing over and over instead of looping.
https://apidocs.bitrix24.com/settings/oauth/index.html · settings/oauth/auto-renewal.html
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import requests

from service.core.bitrix.errors import PermanentError, TransientError
from service.store.portals import Portals

REFRESH_LEASE = timedelta(seconds=30)
REFRESH_WAIT = 20.0  # how long a caller waits for another process's refresh before it gives up (retry)
NEEDS_REINSTALL = "PORTAL_NEEDS_REINSTALL"
# The cloud's authorization server (settings/oauth/index.md); B24_OAUTH_URL overrides it.
DEFAULT_TOKEN_URL = "https://oauth.bitrix.info/oauth/token/"  # noqa: S105 (a URL, not a secret)
# Bitrix24's own cloud authorization servers: oauth.bitrix.info, and oauth.bitrix24.tech, which the
# Russian edition of the REST docs shows as the `server_endpoint` of its portals. An install that names
# one of them is checked there; any other host named in a request is never asked.
CLOUD_OAUTH_HOSTS = frozenset({"oauth.bitrix.info", "oauth.bitrix24.tech"})


@dataclass(frozen=True)
class Grant:
    access_token: str = field(repr=False)
    refresh_token: str = field(repr=False)
    expires_at: datetime


@dataclass(frozen=True)
class Renewal:
    """A refresh answered by the trusted OAuth server, with the portal it says the tokens belong to."""

    grant: Grant
    member_id: str
    client_endpoint: str
    server_endpoint: str


class RefreshRefused(Exception):
    """The OAuth server refused the refresh token for good; `code` is its error code (no secrets)."""

    def __init__(self, code: str) -> None:
        self.code = code
        super().__init__(f"the OAuth server refused the refresh: {code}")


class OAuthServer:
    """The refresh call: GET token_url?grant_type=refresh_token&client_id&client_secret&refresh_token."""

    def __init__(
        self,
        client_id: str,
        client_secret: str,
        *,
        fixed_url: str | None = None,
        session: requests.Session | None = None,
        timeout: tuple[float, float] = (3.05, 15.0),
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._client_id = client_id
        self.__secret = client_secret
        self._fixed = fixed_url
        self._session = session or requests.Session()
        self._timeout = timeout
        self._clock = clock

    def __repr__(self) -> str:
        return "OAuthServer(<credentials hidden>)"

    def refresh(self, server_endpoint: str, refresh_token: str) -> Grant:
        url = self.trusted_url(server_endpoint)  # where its install was checked: never another host
        return self._grant(*self._ask(url, refresh_token))

    def renew_for_install(self, refresh_token: str, server_endpoint: str = "") -> Renewal:
        """Spend a posted refresh token at OUR OAuth server (`trusted_url`, never a URL from the request
        beyond the choice between the cloud's own servers): only a real installation of our client id
        gets an answer, and the answer names the portal (member_id, client_endpoint). The old token is
        spent: keep the new pair."""
        status, content = self._ask(self.trusted_url(server_endpoint), refresh_token)
        grant = self._grant(status, content)
        body = json.loads(content)
        return Renewal(
            grant,
            str(body.get("member_id") or ""),
            str(body.get("client_endpoint") or ""),
            str(body.get("server_endpoint") or ""),
        )

    def trusted_url(self, server_endpoint: str = "") -> str:
        """B24_OAUTH_URL when set; else the cloud server the install names, if it is one of Bitrix24's
        (`CLOUD_OAUTH_HOSTS`, https only); else the default cloud server."""
        if self._fixed:
            return self._fixed
        parts = urlsplit(server_endpoint)
        if parts.scheme == "https" and (parts.hostname or "").lower() in CLOUD_OAUTH_HOSTS:
            return f"https://{(parts.hostname or '').lower()}/oauth/token/"
        return DEFAULT_TOKEN_URL

    def _ask(self, url: str, refresh_token: str) -> tuple[int, bytes]:
        query = {
            "grant_type": "refresh_token",
            "client_id": self._client_id,
            "client_secret": self.__secret,
            "refresh_token": refresh_token,
        }
        failure = ""
        try:
            response = self._session.get(url, params=query, timeout=self._timeout)
        except requests.RequestException as error:  # its text holds the URL with the secrets: never chained
            failure = type(error).__name__
        if failure:
            raise TransientError("OAUTH_UNREACHABLE", failure, None, "oauth/token")
        return response.status_code, response.content

    def _grant(self, status: int, content: bytes) -> Grant:
        try:
            body = json.loads(content)
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise TransientError("OAUTH_BAD_ANSWER", f"HTTP {status}, not JSON", status, "oauth/token")
        if status >= 500:
            raise TransientError(str(body.get("error") or "OAUTH_SERVER_ERROR"), "", status, "oauth/token")
        if "error" in body or not body.get("access_token") or not body.get("refresh_token"):
            raise RefreshRefused(str(body.get("error") or "no tokens in the answer")[:100])
        expires_in = _number(body.get("expires_in"), 3600.0)
        expires = _number(body.get("expires"), self._clock() + expires_in)
        return Grant(
            str(body["access_token"]), str(body["refresh_token"]), datetime.fromtimestamp(expires, UTC)
        )


def _number(value: object, default: float) -> float:
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return default


class PortalTokens:
    """One installed portal's access token for this process, refreshed single-flight across processes."""

    def __init__(
        self,
        portals: Portals,
        member_id: str,
        server_endpoint: str,
        oauth: OAuthServer,
        *,
        on_needs_reinstall: Callable[[str, str], None] = lambda _member, _reason: None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._portals = portals
        self.member_id = member_id
        self._server_endpoint = server_endpoint
        self._oauth = oauth
        self._on_needs_reinstall = on_needs_reinstall
        self._clock, self._sleep = clock, sleep
        self._owner = f"refresh-{uuid.uuid4().hex}"
        self._lock = threading.Lock()
        self.__access: str | None = None
        self.refreshes = 0  # refreshes this keeper made (tests, metrics)

    def __repr__(self) -> str:
        return f"PortalTokens(member_id={self.member_id!r})"

    def access_token(self) -> str:
        with self._lock:
            if self.__access is None:
                self.__access = self._stored().access_token
            return self.__access

    def renew(self, stale: str) -> None:
        """The portal said `stale` expired: make sure a newer token is in hand (refresh at most once)."""
        with self._lock:
            deadline = time.monotonic() + REFRESH_WAIT
            while True:
                current = self._stored()
                if current.access_token != stale:  # someone (maybe another process) refreshed already
                    self.__access = current.access_token
                    return
                if self._portals.lead_refresh(self.member_id, self._owner, self._clock(), REFRESH_LEASE):
                    self.__access = self._refresh(stale)
                    return
                if time.monotonic() > deadline:
                    raise TransientError(
                        "TOKEN_REFRESH_BUSY", "another process is refreshing", None, "oauth/token"
                    )
                self._sleep(0.1)

    def _stored(self) -> _Stored:
        tokens = self._portals.tokens(self.member_id)
        if tokens is None:
            raise PermanentError(
                NEEDS_REINSTALL, "the portal is not installed or needs reinstalling", None, "auth"
            )
        return _Stored(tokens.access_token, tokens.refresh_token)

    def _refresh(self, stale: str) -> str:
        try:
            current = self._stored()
            if current.access_token != stale:
                self._portals.end_refresh(self.member_id, self._owner)
                return current.access_token
            grant = self._oauth.refresh(self._server_endpoint, current.refresh_token)
        except RefreshRefused as refused:
            self._portals.end_refresh(self.member_id, self._owner)
            reason = f"token refresh refused: {refused.code}"
            if self._portals.mark_needs_reinstall(self.member_id, reason, self._clock()):
                self._on_needs_reinstall(self.member_id, reason)
            raise PermanentError(NEEDS_REINSTALL, reason, None, "oauth/token") from None
        except BaseException:
            self._portals.end_refresh(self.member_id, self._owner)
            raise
        saved = self._portals.save_tokens(
            self.member_id,
            self._owner,
            grant.access_token,
            grant.refresh_token,
            grant.expires_at,
            self._clock(),
        )
        if not saved:  # our lease ran out meanwhile: the pair may be lost; the next refresh will tell
            raise TransientError(
                "TOKEN_REFRESH_LOST", "refresh lease expired before saving", None, "oauth/token"
            )
        self.refreshes += 1
        return grant.access_token


@dataclass(frozen=True)
class _Stored:
    access_token: str = field(repr=False)
    refresh_token: str = field(repr=False)
