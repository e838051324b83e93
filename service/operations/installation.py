"""Installing and uninstalling b24rules on a portal (application mode).

Install: check the handed-over access token with the portal itself (`app.info` answers only an
application's token, and names the application) before anything is stored; then store the portal with
its tokens sealed, and bind our events. Uninstall: the call must carry the application token stored at
install; then the portal's tokens are purged and its waiting events set aside (its audit stays).
https://apidocs.bitrix24.com/api-reference/events/safe-event-handlers.html
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from service.bitrix.auth import FixedToken, TokenSource
from service.core.appinstall import Installed, InstallRefused, InstallRequest, UninstallRequest
from service.core.bitrix import BitrixError, Call
from service.operations.subscription import Caller, Subscriber
from service.store.journal import Journal
from service.store.portals import Installation, Portals

log = logging.getLogger(__name__)

# (member_id, client_endpoint, tokens or None for the stored ones) → a REST caller for that portal
Connect = Callable[[str, str, TokenSource | None], Caller]


class Installer:
    def __init__(
        self,
        portals: Portals,
        journal: Journal,
        subscriber: Subscriber,
        connect: Connect,
        client_id: str,
        clock: Callable[[], datetime],
    ) -> None:
        self._portals = portals
        self._journal = journal
        self._subscriber = subscriber
        self._connect = connect
        self._client_id = client_id
        self._clock = clock

    def install(self, request: InstallRequest) -> Installed:
        self._confirm(request)
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
                expires_at=now + timedelta(seconds=request.expires_in),
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
        stored = self._portals.application_token(request.member_id)
        given = request.application_token.encode()
        if not stored or not given or not hmac.compare_digest(given, stored.encode()):
            raise InstallRefused("application token does not match this portal's")
        now = self._clock()
        self._portals.uninstall(request.member_id, now)
        dropped = self._journal.set_aside(
            request.member_id, now, reason="the portal uninstalled the application"
        )
        log.info("portal uninstalled", extra={"member_id": request.member_id, "events_set_aside": dropped})
        return dropped

    def _confirm(self, request: InstallRequest) -> None:
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
