"""What a portal administrator's sign-in from inside the portal yields: the person, or why not.

The check itself (it asks the portal) is operations/portaladmins.py; these values cross from it to the
status page's handler, which shows the refusal or starts the session.
"""

from __future__ import annotations

from dataclasses import dataclass


class AdmissionRefused(Exception):
    """Why the person is not let in (shown to them), the HTTP status, and the portal's stored domain
    when the member id named an installed portal (the refusal page may then be framed by it)."""

    def __init__(self, reason: str, status: int = 403, domain: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status
        self.domain = domain


@dataclass(frozen=True)
class PortalAdmin:
    member_id: str
    domain: str  # as stored at install
    user_id: str
    name: str  # "NAME LAST_NAME, user ID"
