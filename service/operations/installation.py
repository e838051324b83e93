"""Installing and uninstalling b24rules on a portal (application mode).

Install: anyone can post an install naming any `client_endpoint`, so nothing posted is believed until
OUR OAuth server (B24_OAUTH_URL or oauth.bitrix.info, never a URL from the request) renews the posted
refresh token for OUR client id and secret: only a real installation of our application gets an answer,
and the answer names the portal (member_id, client_endpoint), which must agree with the post. The
posted refresh token is spent by that, so the renewed pair is what gets stored. `app.info` with the new
token then confirms the application code. Only then is the portal stored (tokens sealed) and our events
bound. Why, and what it does not cover: docs/security.md "Forged installs".
Uninstall: the call must carry the application token stored at install; then the portal's tokens are
purged and its waiting events set aside (its audit stays).
https://apidocs.bitrix24.com/api-reference/events/safe-event-handlers.html
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime

from service.bitrix.auth import FixedToken, TokenSource
from service.bitrix.oauth import RefreshRefused, Renewal
from service.core.appinstall import (
    Installed,
    InstallRefused,
    InstallRequest,
    UninstallRequest,
    endpoint_problem,
    token_matches,
)
from service.core.bitrix import BitrixError, Call
from service.operations.subscription import Caller, Subscriber
from service.store.journal import Journal
from service.store.portals import Installation, Portals

log = logging.getLogger(__name__)

# (member_id, client_endpoint, tokens or None for the stored ones) → a REST caller for that portal
Connect = Callable[[str, str, TokenSource | None], Caller]
# (a posted refresh token, the posted server_endpoint) → the trusted OAuth server's renewal
# (OAuthServer.renew_for_install)
Renew = Callable[[str, str], Renewal]


class Installer:
    def __init__(
        self,
        portals: Portals,
        journal: Journal,
        subscriber: Subscriber,
        connect: Connect,
        client_id: str,
        clock: Callable[[], datetime],
        renew: Renew,
        *,
        plain_http_allowed: bool = False,
    ) -> None:
        self._portals = portals
        self._journal = journal
        self._subscriber = subscriber
        self._connect = connect
        self._client_id = client_id
        self._clock = clock
        self._renew = renew
        self._plain_http_allowed = plain_http_allowed

    def install(self, request: InstallRequest) -> Installed:
        request, expires_at = self._confirm(request)
        application_token = request.application_token or self._portals.application_token(request.member_id)
        now = self._clock()
        self._portals.install(
            Installation(
                member_id=request.member_id,
                domain=request.domain,
                client_endpoint=request.client_endpoint,
                server_endpoint=request.server_endpoint,
                application_token=application_token or "",
                access_token=request.access_token,
                refresh_token=request.refresh_token,
                expires_at=expires_at,
            ),
            now,
        )
        portal = self._connect(request.member_id, request.client_endpoint, None)
        binding = self._subscriber.subscribe(request.member_id, portal)
        log.info("portal installed", extra={"member_id": request.member_id, "domain": request.domain,
                                            "binding": binding})  # fmt: skip
        return Installed(request.member_id, request.domain, binding)

    def uninstall(self, request: UninstallRequest) -> int:
        """Purge the portal's tokens; return how many waiting events were set aside."""
        if not token_matches(request.application_token, self._portals.application_token(request.member_id)):
            raise InstallRefused("application token does not match this portal's")
        now = self._clock()
        self._portals.uninstall(request.member_id, now)
        dropped = self._journal.set_aside(
            request.member_id, now, reason="the portal uninstalled the application"
        )
        log.info("portal uninstalled", extra={"member_id": request.member_id, "events_set_aside": dropped})
        return dropped

    def _confirm(self, posted: InstallRequest) -> tuple[InstallRequest, datetime]:
        """The install as OUR OAuth server vouches for it (renewed tokens, its endpoints), or refused."""
        problem = endpoint_problem(posted, self._plain_http_allowed)
        if problem:
            raise InstallRefused(problem, 403)
        renewal = self._renewal(posted.refresh_token, posted.server_endpoint)
        if renewal.member_id != posted.member_id:
            raise InstallRefused("the OAuth server names another portal for these tokens", 403)
        if renewal.client_endpoint.lower() != posted.client_endpoint.lower():
            raise InstallRefused("the OAuth server names another client_endpoint for these tokens", 403)
        request = replace(
            posted,
            client_endpoint=renewal.client_endpoint,
            server_endpoint=renewal.server_endpoint or posted.server_endpoint,
            access_token=renewal.grant.access_token,
            refresh_token=renewal.grant.refresh_token,
        )
        self._check_application(request)
        return request, renewal.grant.expires_at

    def _renewal(self, refresh_token: str, server_endpoint: str) -> Renewal:
        try:
            return self._renew(refresh_token, server_endpoint)
        except RefreshRefused as refused:
            raise InstallRefused(f"the OAuth server did not confirm the install: {refused.code}") from None
        except BitrixError as error:
            raise InstallRefused(f"the OAuth server cannot be asked: {error.code}", 502) from None

    def _check_application(self, request: InstallRequest) -> None:
        probe = self._connect(request.member_id, request.client_endpoint, FixedToken(request.access_token))
        try:
            info = probe.call(Call("app.info")).result
        except BitrixError as error:
            status = 502 if error.transient else 401
            raise InstallRefused(
                f"the portal did not confirm the access token: {error.code}", status
            ) from None
        code = info.get("CODE") if isinstance(info, dict) else None
        if code and code != self._client_id:
            raise InstallRefused("the token belongs to another application")
