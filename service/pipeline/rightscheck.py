"""The worker deletes nothing until the portal credentials are known to be an administrator's.

At start and every `interval` the worker asks the portal (`PortalGateway.rights`: profile, scope, one
task page) and stores the verdict in `portal_checks`, where `/readyz` and `doctor` read it. While the
verdict is "no" (or there is none yet) the worker claims nothing: events stay queued, nothing is
dead-lettered, nothing is recorded deleted or gone. A portal that cannot be asked keeps the last verdict.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from service.bitrix.portal import PortalGateway
from service.core.bitrix import BitrixError
from service.plumbing.clock import utcnow
from service.store.portalchecks import PortalChecks

log = logging.getLogger(__name__)

CHECK_EVERY = timedelta(minutes=5)
RETRY_UNKNOWN = timedelta(seconds=30)  # no verdict yet (portal unreachable): ask again soon


class RightsGate:
    def __init__(
        self,
        gateway: PortalGateway,
        checks: PortalChecks,
        portal: str = "",
        *,
        interval: timedelta = CHECK_EVERY,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._gateway = gateway
        self._checks = checks
        self._portal = portal
        self._interval = interval
        self._clock = clock
        self._due: datetime | None = None  # None: check at the first call
        self._ok = False

    def allows(self) -> bool:
        """Whether deleting is allowed now; re-checks the portal when a check is due."""
        now = self._clock()
        if self._due is None or now >= self._due:
            self._check(now)
        return self._ok

    def _check(self, now: datetime) -> None:
        try:
            rights = self._gateway.rights()
        except BitrixError as error:
            known = self._checks.get(self._portal)
            self._ok = known is not None and known.ok
            self._due = now + (self._interval if known is not None else RETRY_UNKNOWN)
            log.warning("portal rights check failed; keeping the last verdict", extra={"error": str(error)})
            return
        if rights.ok != self._ok or self._due is None:
            level = logging.INFO if rights.ok else logging.ERROR
            log.log(level, "portal rights checked", extra={"ok": rights.ok, "reason": rights.reason})
        self._checks.record(self._portal, rights.ok, rights.reason, now)
        self._ok, self._due = rights.ok, now + self._interval
