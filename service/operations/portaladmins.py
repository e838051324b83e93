"""Portal administrators signing in to the status page from inside their portal (application mode).

When someone opens b24rules in the portal, the portal POSTs the application's page form to our handler
(`POST /ui/portal`): `member_id` and the opener's access token `AUTH_ID`, with DOMAIN, REFRESH_ID,
SERVER_ENDPOINT and others we do not use. Anyone can post such a form, so nothing in it is believed:
- the portal is looked up by `member_id` in OUR store (an unknown or inactive one is refused);
- the token is sent only to the `client_endpoint` stored at install (never a DOMAIN or endpoint from the
  request): a portal answers only tokens it issued, so an answer proves the token is that portal's;
- `app.info` must name our application (CODE = our client id): a token of another app is refused;
- `user.admin` must answer true: the person may change the portal's settings;
- `profile` names the person (NAME LAST_NAME, ID) for the audit of what they do.
Nothing of a refused request is stored, and the token is neither stored nor logged: it is used for
these three calls and dropped.
https://apidocs.bitrix24.com/local-integrations/serverside-local-app-with-ui.html ·
api-reference/common/users/user-admin.html · api-reference/common/users/profile.html ·
api-reference/common/system/app-info.html
"""

from __future__ import annotations

from typing import Any

from service.bitrix.auth import FixedToken
from service.core.bitrix import BitrixError, Call
from service.core.portaladmission import AdmissionRefused, PortalAdmin
from service.operations.installation import Connect
from service.store.portals import ACTIVE, Portals

MAX_TOKEN_CHARS = 200
MAX_NAME_CHARS = 80
MISSING_AUTH = "no access token came with the page: open b24rules in the portal"


class PortalAdmins:
    def __init__(self, portals: Portals, connect: Connect, client_id: str) -> None:
        self._portals = portals
        self._connect = connect
        self._client_id = client_id

    def admit(self, member_id: str, auth_id: str) -> PortalAdmin:
        """The administrator behind `auth_id` on the installed portal `member_id`, or AdmissionRefused."""
        record = self._portals.get(member_id) if 0 < len(member_id) <= 64 else None
        if record is None:
            raise AdmissionRefused("this portal has not installed b24rules")
        domain = record.domain
        if record.status != ACTIVE:  # uninstalled, or its tokens cannot be renewed: reinstall first
            reason = f"b24rules is {record.status} on {domain}: reinstall it there"
            raise AdmissionRefused(reason, 403, domain)
        if not auth_id or len(auth_id) > MAX_TOKEN_CHARS:
            raise AdmissionRefused(MISSING_AUTH, 403, domain)
        portal = self._connect(record.member_id, record.client_endpoint, FixedToken(auth_id))
        try:
            info = portal.call(Call("app.info")).result
            admin = portal.call(Call("user.admin")).result
            profile = portal.call(Call("profile")).result
        except BitrixError as error:
            raise _unanswered(domain, error) from None
        if not isinstance(info, dict) or info.get("CODE") != self._client_id:
            raise AdmissionRefused("the access token is not one of b24rules' on this portal", 403, domain)
        if admin is not True:
            raise AdmissionRefused(
                f"only administrators of {domain} may open b24rules' status page", 403, domain
            )
        user_id, name = _person(profile)
        return PortalAdmin(record.member_id, domain, user_id, name)


def _unanswered(domain: str, error: BitrixError) -> AdmissionRefused:
    if error.transient:
        return AdmissionRefused(f"{domain} cannot be asked now ({error.code}); try again", 502, domain)
    reason = f"{domain} did not accept the access token ({error.code}): reopen b24rules in the portal"
    return AdmissionRefused(reason, 403, domain)


def _person(profile: Any) -> tuple[str, str]:
    fields = profile if isinstance(profile, dict) else {}
    user_id = str(fields.get("ID") or "?")[:20]
    full = " ".join(" ".join(str(fields.get(key) or "") for key in ("NAME", "LAST_NAME")).split())
    return user_id, f"{full or 'user'}, user {user_id}"[:MAX_NAME_CHARS]
